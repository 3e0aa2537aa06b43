import type { BudgetRow } from '../db/schema.js';
import type { BudgetState } from './budgetSchemas.js';

/**
 * Where a month's cost stands against the budget. Pure: the cost is GET /v1/usage's `estimated_cost.total` for the
 * whole account, so the budget, the usage page and the invoice agree on what was spent.
 */
export function budgetStateOf(budget: Pick<BudgetRow, 'monthly_limit' | 'alert_thresholds'> | undefined, used: number, currency: string): BudgetState {
  const limit = budget?.monthly_limit ?? null;
  if (limit === null) return { limit: null, used, remaining: null, state: 'ok', currency };
  const lowest = Math.min(...(budget?.alert_thresholds ?? []), 1);
  const state = used >= limit ? 'exceeded' : used >= lowest * limit ? 'alerting' : 'ok';
  return { limit, used, remaining: Math.max(0, limit - used), state, currency };
}

/** The thresholds a cost has crossed. */
export function crossedThresholds(budget: Pick<BudgetRow, 'monthly_limit' | 'alert_thresholds'>, used: number): number[] {
  const limit = budget.monthly_limit;
  if (limit === null) return [];
  return budget.alert_thresholds.filter((threshold) => used >= threshold * limit);
}
