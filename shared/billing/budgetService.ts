import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { BudgetRow, Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { recordWebhookEvent } from '../webhooks/webhookOutbox.js';
import { calendarMonthOf } from './billingPeriods.js';
import { claimThresholdEmission, findBudget, linkThresholdEvent, upsertBudget, usersWithLimits } from './budgetRepository.js';
import { budgetStateOf, crossedThresholds } from './budgetRules.js';
import { DEFAULT_ALERT_THRESHOLDS, type BudgetResponse, type PutBudgetBody } from './budgetSchemas.js';
import { accountMonthCost } from './usageService.js';

/*
 * Budgets (GET|PUT /v1/billing/budget): a monthly limit on what the account's usage costs, measured by the very
 * figure GET /v1/usage shows (`estimated_cost.total`, what the invoices will say), with alert thresholds and
 * optionally a hard stop.
 *
 * - Thresholds: each crossed in a calendar month emits `usage.budget_threshold` once for that month (the primary
 *   key of budget_threshold_emissions decides, in the event's transaction). They are checked every 5 minutes by the
 *   `checkBudgets` timer, and whenever paid work is asked for.
 * - Hard limit: the cost check every paid operation passes (costPermission.ts) refuses new work once the month's
 *   cost reaches the limit, 402 `budget_exceeded`. Work accepted before finishes and is billed, and what is stored
 *   keeps accruing storage: so the limit can be overshot by what was in flight when it was reached (examples
 *   PENDING or PROCESSING, whose tokens are counted when they complete; dataset builds running), plus storage. The
 *   check reads committed usage, so requests racing at the limit each pass: the overshoot is bounded by that work.
 */

function toBudgetResponse(row: BudgetRow | undefined, config: Config): BudgetResponse {
  return {
    monthly_limit: row?.monthly_limit ?? null,
    currency: row?.currency ?? config.billing.currency,
    hard_limit: row?.hard_limit ?? false,
    alert_thresholds: row?.alert_thresholds ?? DEFAULT_ALERT_THRESHOLDS,
  };
}

export async function getBudget(db: Kysely<Database>, config: Config, userId: string): Promise<BudgetResponse> {
  return toBudgetResponse(await findBudget(db, userId), config);
}

export async function putBudget(db: Kysely<Database>, config: Config, userId: string, body: PutBudgetBody): Promise<BudgetResponse> {
  const currency = body.currency ?? config.billing.currency;
  if (currency !== config.billing.currency) {
    throw ApiError.validation('The budget is kept in the billing currency.', {
      fields: [{ location: 'body', field: 'currency', message: `must be ${config.billing.currency}, the currency usage is billed in` }],
    });
  }
  const row = await upsertBudget(db, userId, {
    monthly_limit: body.monthly_limit,
    currency,
    hard_limit: body.hard_limit,
    alert_thresholds: body.alert_thresholds,
  });
  return toBudgetResponse(row, config);
}

/**
 * Emits usage.budget_threshold for every threshold the month's cost has crossed and that was not emitted yet this
 * month. The event's data is the budget block of GET /v1/usage, with the threshold.
 */
async function emitCrossedThresholds(db: Kysely<Database>, config: Config, budget: BudgetRow, used: number, now: Date): Promise<number> {
  const crossed = crossedThresholds(budget, used);
  if (crossed.length === 0) return 0;
  const month = calendarMonthOf(now);
  const state = budgetStateOf(budget, used, config.billing.currency);
  return db.transaction().execute(async (trx) => {
    let emitted = 0;
    for (const threshold of crossed) {
      if (!(await claimThresholdEmission(trx, budget.user_id, month.start, threshold))) continue;
      const eventId = await recordWebhookEvent(trx, budget.user_id, 'usage.budget_threshold', {
        threshold,
        billing_period: { start: month.start.toISOString(), end: month.end.toISOString() },
        ...state,
      });
      await linkThresholdEvent(trx, budget.user_id, month.start, threshold, eventId);
      emitted++;
    }
    return emitted;
  });
}

/** The hard limit, for the cost check: 402 budget_exceeded once this month's cost reached it. */
export async function assertWithinBudget(db: Kysely<Database>, config: Config, userId: string, now: Date): Promise<void> {
  const budget = await findBudget(db, userId);
  if (!budget || budget.monthly_limit === null) return;
  const used = await accountMonthCost(db, config, userId, now);
  await emitCrossedThresholds(db, config, budget, used, now);
  if (budget.hard_limit && used >= budget.monthly_limit) {
    throw ApiError.budgetExceeded(
      'This month\'s budget is reached: new paid work is refused until next month or a higher limit (PUT /v1/billing/budget). Reads and downloads still work.',
      { limit: budget.monthly_limit, used, currency: budget.currency },
    );
  }
}

const BUDGET_PAGE = 100;

/** The `checkBudgets` timer: every budget with a limit, its crossed thresholds emitted. */
export async function checkBudgetThresholds(db: Kysely<Database>, config: Config, now: Date): Promise<{ checked: number; emitted: number }> {
  let checked = 0;
  let emitted = 0;
  let after: string | null = null;
  for (;;) {
    const users = await usersWithLimits(db, after, BUDGET_PAGE);
    for (const userId of users) {
      const budget = await findBudget(db, userId);
      if (!budget || budget.monthly_limit === null) continue;
      emitted += await emitCrossedThresholds(db, config, budget, await accountMonthCost(db, config, userId, now), now);
      checked++;
    }
    if (users.length < BUDGET_PAGE) return { checked, emitted };
    after = users[users.length - 1] as string;
  }
}
