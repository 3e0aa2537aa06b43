import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { Database, JsonObject, StripeSyncOutcome } from '../db/schema.js';
import { placeUsage, type SubscriptionSpan } from './billingPeriods.js';
import { outcomeOfError, type MeterEventOutcome } from './meterEventOutcome.js';
import { meterEventParams, type PendingUsage, type UsageKind } from './meterEvents.js';
import { STREAM_BATCH_EVENTS, streamOutcomeOfError, type MeterEventStream } from './meterEventStream.js';
import { MeterIds, reconcileInDoubt } from './meterReconciliation.js';
import { spansOfUsers } from './subscriptionRepository.js';
import {
  countPending,
  countWaitingWithoutCustomer,
  finishSyncRun,
  markAttempted,
  markFailed,
  markRetry,
  markSent,
  selectPendingUsage,
  startSyncRun,
  tryLockSync,
  unlockSync,
  unmarkNotAttempted,
  type Cursor,
} from './stripeSyncRepository.js';

/*
 * The Stripe sync: sends every unsent usage row as a Billing Meter event and marks it sent only once Stripe has
 * accepted it. The rules, and the Stripe facts behind them:
 *
 * - One run at a time: a PostgreSQL session advisory lock, held on the run's own connection; a second run that
 *   starts meanwhile records `skipped_locked` and does nothing.
 * - Before a batch's calls, its rows are marked attempted (one UPDATE), so that a crash after Stripe accepted an
 *   event and before the row was marked leaves the row "in doubt" rather than "never sent". A row in doubt is
 *   resent with the same identifier; Stripe answers a repeated identifier with "already exists" within a rolling
 *   window of at least 24 hours (https://docs.stripe.com/api/billing/meter-event/create#create_billing_meter_event-identifier),
 *   which the sync reads as delivered. Retries therefore stay inside 23 hours of the first call; a row in doubt for
 *   longer is reconciled against Stripe's event summaries instead (meterReconciliation.ts), never resent blindly.
 * - 429, 5xx, timeouts: stop sending (back off) and leave the rest for the next run. 5xx and timeouts leave their
 *   row in doubt (Stripe may have taken it); 429 does not (Stripe processed nothing).
 * - A 4xx that a configuration fix heals (an archived meter) is tried again after a back-off (stripe_retry_at);
 *   another 4xx is recorded on its row (stripe_failed_at, stripe_error), resendable by `npm run billing:resend`,
 *   and the others go on. Either way the run ends `completed_with_errors`, not `completed`.
 * - Where each row is billed is decided once, at its first attempt (billingPeriods.ts): in its own period while
 *   that period's invoice can still take it; carried into the period open now (and sent with that timestamp)
 *   once its period has closed; not at all (`not_billable`) when it happened outside every subscription, after a
 *   day's wait for a subscription the webhooks may still bring; `stranded` (failed, reported) when its period
 *   closed and no subscription is open to carry it.
 * - Stripe takes timestamps of the past 35 days only: a row in doubt that cannot be resent in time is marked
 *   `expired` and counted in the run's report and the log, not dropped silently.
 * - Rows of users without a Stripe customer are not selected; they wait, unsent, and are counted in the report.
 * - Stripe allows one concurrent meter-event call per customer and meter
 *   (https://docs.stripe.com/billing/subscriptions/usage-based/recording-usage-api#rate-limits): calls run on
 *   `concurrency` lanes, each lane serving one customer-and-meter at a time.
 * - A large backlog (STREAM_MIN_BACKLOG events in a batch or more) goes over Stripe's v2 meter event stream when the
 *   run has one (meterEventStream.ts): 100 events a call on a session token, the same identifiers, so a resend is
 *   still never counted twice. A batch the stream refuses for its content goes one event at a time over v1, which
 *   names the wrong one; smaller backlogs go over v1 from the start, with its per-row answers.
 * - Without Stripe configured, a run records `waiting_for_configuration` with the counts that wait.
 */

const HOUR_MS = 3_600_000;
/** Retry a row in doubt with the same identifier only this long after its first call (Stripe: at least 24 h). */
export const DUPLICATE_WINDOW_MS = 23 * HOUR_MS;
/** Stripe takes meter events whose timestamp is within the past 35 days; an hour's margin for clocks and the run. */
export const MAX_EVENT_AGE_MS = 35 * 24 * HOUR_MS - HOUR_MS;
/** Usage outside every known subscription waits this long (webhooks, the reconciliation) before it is not billable. */
const NOT_BILLABLE_AFTER_MS = 24 * HOUR_MS;
const BATCH_SIZE = 500;
/** Rows read per batch when the stream sends them: more calls in flight per round of database work. */
const STREAM_BATCH_SIZE = 4_000;
/** From this many events in a batch, the stream (when configured) rather than v1 single events. */
export const STREAM_MIN_BACKLOG = 200;

export interface SyncLog {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface SyncOptions {
  eventNames: Record<UsageKind, string>;
  concurrency: number;
  timeBudgetMs: number;
  /** Stripe's invoice finalization grace period: a period takes its usage until this long after it ends. */
  invoiceGraceMs: number;
  batchSize?: number;
  clock?: () => Date;
  /** Only these users' rows (the period close); everyone's by default. */
  userIds?: string[];
  /** Stripe's v2 meter event stream, for large backlogs; without it every event goes over v1. */
  meterEventStream?: MeterEventStream;
}

interface Counters {
  sent: number;
  already_in_stripe: number;
  nothing_to_send: number;
  carried: number;
  not_billable: number;
  waiting_for_subscription: number;
  stranded: number;
  retrying: number;
  rejected: number;
  expired: number;
  reconciled_in_stripe: number;
  reconciled_resent: number;
  reconcile_ambiguous: number;
  left_in_doubt: number;
  left_unsent: number;
  calls: number;
}

export interface SyncReport {
  runId: string;
  outcome: StripeSyncOutcome;
  details: JsonObject;
}

/** A batch whose rows are marked attempted: the events to send (resends of reconciled rows among them). */
interface PreparedBatch {
  all: Array<{ row: PendingUsage; at: Date; carried: boolean }>;
  resent: Set<string>;
}

type StopReason = 'rate_limited' | 'stripe_unavailable' | 'configuration' | 'time_budget';

class SyncRun {
  readonly counters: Counters = {
    sent: 0,
    already_in_stripe: 0,
    nothing_to_send: 0,
    carried: 0,
    not_billable: 0,
    waiting_for_subscription: 0,
    stranded: 0,
    retrying: 0,
    rejected: 0,
    expired: 0,
    reconciled_in_stripe: 0,
    reconciled_resent: 0,
    reconcile_ambiguous: 0,
    left_in_doubt: 0,
    left_unsent: 0,
    calls: 0,
  };
  stop: { reason: StopReason; error?: string } | null = null;
  readonly expiredSamples: string[] = [];
  readonly #deadline: number;
  readonly #clock: () => Date;
  readonly #meterIds: MeterIds;

  constructor(
    readonly db: Kysely<Database>,
    readonly stripe: Stripe,
    readonly options: SyncOptions,
    readonly log: SyncLog,
  ) {
    this.#clock = options.clock ?? (() => new Date());
    this.#deadline = Date.now() + options.timeBudgetMs;
    this.#meterIds = new MeterIds(stripe);
  }

  now(): Date {
    return this.#clock();
  }

  #halt(reason: StopReason, error?: string): void {
    this.stop ??= error === undefined ? { reason } : { reason, error };
  }

  #outOfTime(): boolean {
    if (Date.now() >= this.#deadline) this.#halt('time_budget');
    return this.stop !== null;
  }

  canStillSend = (row: PendingUsage): boolean =>
    (row.sentTimestamp ?? row.occurredAt).getTime() >= this.now().getTime() - MAX_EVENT_AGE_MS;

  /**
   * Batches one after another, two at a time: while one batch's calls run (and then its rows are marked), the
   * next is read, placed and marked attempted, so that the database and Stripe work at once rather than in turn
   * (in the bench, the database's share of a run was 85%, with the calls waiting for it). A batch's calls start
   * only once the previous batch is done, so at most two batches are in doubt at a time, and a stop (429, 5xx,
   * time budget) seen in one batch leaves the next uncalled: its rows are unmarked as never attempted.
   */
  async runKind(kind: UsageKind): Promise<void> {
    let cursor: Cursor | null = null;
    let inFlight: Promise<void> | null = null;
    try {
      while (!this.#outOfTime()) {
        const filter = { now: this.now(), ...(this.options.userIds ? { userIds: this.options.userIds } : {}) };
        const batchSize = this.options.batchSize ?? (this.options.meterEventStream ? STREAM_BATCH_SIZE : BATCH_SIZE);
        const page = await selectPendingUsage(this.db, kind, cursor, batchSize, filter);
        if (page.next === null) break;
        cursor = page.next;
        if (page.rows.length === 0) continue;
        const batch = await this.#prepareBatch(kind, page.rows);
        if (!batch) continue;
        const previous = inFlight;
        inFlight = null;
        try {
          await previous;
        } catch (error) {
          // No call was made for this batch: its rows go back to what they were before it was marked.
          await unmarkNotAttempted(this.db, kind, batch.all.map(({ row }) => row));
          this.counters.left_unsent += batch.all.length;
          throw error;
        }
        inFlight = this.#send(kind, batch);
        // Awaited before the next batch's calls or the end of the run; until then, a failure is not unhandled.
        inFlight.catch(() => undefined);
      }
    } catch (error) {
      // The calls under way end, and their rows are marked, before the error goes up (and the lock is released).
      await inFlight?.catch((inFlightError: unknown) => this.log.error('Stripe sync: a batch in flight failed too:', inFlightError));
      throw error;
    }
    await inFlight;
  }

  async #spansOf(rows: PendingUsage[]): Promise<Map<string, SubscriptionSpan[]>> {
    return spansOfUsers(this.db, rows.map((row) => row.userId));
  }

  /**
   * Decides each row of a batch: rows that need no call are marked at once; the others are marked attempted and
   * returned, to be sent by #send. Null when there is nothing to send, or the run has stopped.
   */
  async #prepareBatch(kind: UsageKind, rows: PendingUsage[]): Promise<PreparedBatch | null> {
    const now = this.now();
    const spans = await this.#spansOf(rows);
    const nothing: PendingUsage[] = [];
    const notBillable: PendingUsage[] = [];
    const stranded: Array<{ id: string; error: string }> = [];
    const expired: PendingUsage[] = [];
    const reconcile: PendingUsage[] = [];
    const send: Array<{ row: PendingUsage; at: Date; carried: boolean }> = [];
    for (const row of rows) {
      if (row.value <= 0) {
        nothing.push(row);
      } else if (row.attemptedAt && (now.getTime() - row.attemptedAt.getTime() > DUPLICATE_WINDOW_MS || !this.canStillSend(row))) {
        reconcile.push(row);
      } else if (row.attemptedAt || row.sentTimestamp) {
        // In doubt inside Stripe's duplicate window, or resent after a period close found it missing: the same
        // event again (identifier and timestamp).
        send.push({ row, at: row.sentTimestamp ?? row.occurredAt, carried: false });
      } else {
        const placement = placeUsage(spans.get(row.userId) ?? [], row.occurredAt, now, this.options.invoiceGraceMs);
        if (placement.kind === 'outside') {
          if (now.getTime() - row.occurredAt.getTime() > NOT_BILLABLE_AFTER_MS) notBillable.push(row);
          else this.counters.waiting_for_subscription++;
        } else if (placement.kind === 'stranded') {
          stranded.push({
            id: row.id,
            error:
              `Its period (${placement.period.start.toISOString()} to ${placement.period.end.toISOString()}) was ` +
              'invoiced before it reached Stripe, and no subscription is open to carry it into.',
          });
        } else if (placement.kind === 'own' && !this.canStillSend(row)) {
          expired.push(row);
        } else {
          send.push({ row, at: placement.at, carried: placement.kind === 'carried' });
        }
      }
    }

    await markSent(this.db, kind, nothing.map((row) => row.id), 'nothing_to_send');
    this.counters.nothing_to_send += nothing.length;
    await markSent(this.db, kind, notBillable.map((row) => row.id), 'not_billable');
    this.counters.not_billable += notBillable.length;
    await markFailed(this.db, kind, stranded, 'stranded');
    this.counters.stranded += stranded.length;
    if (stranded.length > 0) {
      this.log.warn(`Stripe sync: ${stranded.length} ${kind} usage rows missed their invoice and cannot be carried (stranded).`);
    }

    await markFailed(
      this.db,
      kind,
      expired.map((row) => ({
        id: row.id,
        error: `Never reached Stripe, and its time (${row.occurredAt.toISOString()}) is now older than the 35 days Stripe accepts.`,
      })),
      'expired',
    );
    if (expired.length > 0) {
      this.counters.expired += expired.length;
      this.expiredSamples.push(...expired.slice(0, 10 - this.expiredSamples.length).map((row) => `${kind}:${row.id}`));
      this.log.warn(
        `Stripe sync: ${expired.length} ${kind} usage rows are older than 35 days and never reached Stripe; ` +
          'recorded as expired (stripe_resolution = expired).',
      );
    }

    let resend: PendingUsage[] = [];
    if (reconcile.length > 0) {
      try {
        const reconciled = await reconcileInDoubt(
          this.db,
          this.stripe,
          this.#meterIds,
          this.options.eventNames,
          reconcile,
          this.canStillSend,
        );
        resend = reconciled.resend;
        this.counters.reconciled_in_stripe += reconciled.inStripe;
        this.counters.reconcile_ambiguous += reconciled.ambiguous;
        this.counters.expired += reconciled.expired;
      } catch (error) {
        const outcome = outcomeOfError(error);
        if (!outcome) throw error;
        this.#stopFor(outcome);
        this.counters.left_in_doubt += reconcile.length;
      }
    }
    if (this.stop) {
      this.counters.left_unsent += send.length;
      return null;
    }
    if (send.length === 0 && resend.length === 0) return null;
    await markAttempted(this.db, kind, send.map(({ row, at, carried }) => ({ id: row.id, carriedTo: carried ? at : null })));
    await markAttempted(this.db, kind, resend.map((row) => ({ id: row.id, carriedTo: null })), true);
    return {
      all: [...send, ...resend.map((row) => ({ row, at: row.sentTimestamp ?? row.occurredAt, carried: false }))],
      resent: new Set(resend.map((row) => row.id)),
    };
  }

  #stopFor(outcome: MeterEventOutcome): void {
    if (outcome.kind === 'rate_limited') this.#halt('rate_limited', outcome.error);
    else if (outcome.kind === 'configuration') this.#halt('configuration', outcome.error);
    else if (outcome.kind === 'unknown') this.#halt('stripe_unavailable', outcome.error);
  }

  /** Makes the calls of a batch marked attempted, then marks each row as its outcome says. */
  async #send(kind: UsageKind, { all, resent }: PreparedBatch): Promise<void> {
    const carried = new Set(all.filter((entry) => entry.carried).map((entry) => entry.row.id));
    const outcomes = await this.#dispatch(all);

    const accepted: string[] = [];
    const reconciledResent: string[] = [];
    const alreadyInStripe: string[] = [];
    const rejected: Array<{ id: string; error: string }> = [];
    const retries: Array<{ id: string; error: string }> = [];
    const notAttempted: PendingUsage[] = [];
    for (const { row } of all) {
      const outcome = outcomes.get(row.id);
      if (outcome === undefined || outcome.kind === 'rate_limited' || outcome.kind === 'not_processed' || outcome.kind === 'configuration') {
        // No call, or Stripe processed nothing: the row is exactly as it was before this run.
        notAttempted.push(row);
      } else if (outcome.kind === 'accepted') {
        (resent.has(row.id) ? reconciledResent : accepted).push(row.id);
      } else if (outcome.kind === 'already_in_stripe') {
        alreadyInStripe.push(row.id);
      } else if ((outcome.kind === 'rejected' || outcome.kind === 'retryable') && (row.attemptedAt === null || resent.has(row.id))) {
        (outcome.kind === 'retryable' ? retries : rejected).push({ id: row.id, error: outcome.error });
      } else {
        // unknown, or a rejection of a row an earlier call may have delivered: in doubt until Stripe says.
        this.counters.left_in_doubt++;
      }
    }
    await markSent(this.db, kind, accepted, 'sent');
    await markSent(this.db, kind, reconciledResent, 'reconciled_resent');
    await markSent(this.db, kind, alreadyInStripe, 'already_in_stripe');
    await markFailed(this.db, kind, rejected, 'rejected');
    await markRetry(this.db, kind, retries, this.now());
    await unmarkNotAttempted(this.db, kind, notAttempted);
    this.counters.sent += accepted.length;
    this.counters.carried += accepted.filter((id) => carried.has(id)).length;
    this.counters.reconciled_resent += reconciledResent.length;
    this.counters.already_in_stripe += alreadyInStripe.length;
    this.counters.rejected += rejected.length;
    this.counters.retrying += retries.length;
    this.counters.left_unsent += notAttempted.length;
    for (const failure of rejected) this.log.warn(`Stripe sync: ${kind} usage ${failure.id} rejected: ${failure.error}`);
    if (retries.length > 0) {
      this.log.warn(`Stripe sync: ${retries.length} ${kind} usage rows rejected for a reason that can heal; tried again later: ${retries[0]?.error}`);
    }
  }

  async #dispatch(entries: Array<{ row: PendingUsage; at: Date }>): Promise<Map<string, MeterEventOutcome>> {
    const stream = this.options.meterEventStream;
    if (!stream || entries.length < STREAM_MIN_BACKLOG) return this.#dispatchSingly(entries);
    const { outcomes, fallback } = await this.#dispatchStream(stream, entries);
    if (fallback.length > 0 && !this.stop) {
      for (const [id, outcome] of await this.#dispatchSingly(fallback)) outcomes.set(id, outcome);
    }
    return outcomes;
  }

  /**
   * Sends batches of 100 on `concurrency` lanes (the per-customer limit of v1 does not apply to the stream); stops
   * early when told to. Answers each row's outcome, and the rows whose batch is to go over v1 instead.
   */
  async #dispatchStream(
    stream: MeterEventStream,
    entries: Array<{ row: PendingUsage; at: Date }>,
  ): Promise<{ outcomes: Map<string, MeterEventOutcome>; fallback: Array<{ row: PendingUsage; at: Date }> }> {
    const batches: Array<Array<{ row: PendingUsage; at: Date }>> = [];
    for (let i = 0; i < entries.length; i += STREAM_BATCH_EVENTS) batches.push(entries.slice(i, i + STREAM_BATCH_EVENTS));
    const outcomes = new Map<string, MeterEventOutcome>();
    const fallback: Array<{ row: PendingUsage; at: Date }> = [];
    let bug: unknown;
    const worker = async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        if (bug !== undefined || this.#outOfTime()) return;
        this.counters.calls++;
        try {
          await stream.send(batch, this.options.eventNames);
          for (const { row } of batch) outcomes.set(row.id, { kind: 'accepted' });
        } catch (error) {
          const outcome = streamOutcomeOfError(error);
          if (outcome === null) {
            bug = error;
            return;
          }
          if (outcome === 'fallback') {
            fallback.push(...batch);
            continue;
          }
          for (const { row } of batch) outcomes.set(row.id, outcome);
          this.#stopFor(outcome);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.concurrency, batches.length)) }, worker));
    if (bug !== undefined) throw bug;
    return { outcomes, fallback };
  }

  /** Sends on `concurrency` lanes, one customer-and-meter per lane at a time; stops early when told to. */
  async #dispatchSingly(entries: Array<{ row: PendingUsage; at: Date }>): Promise<Map<string, MeterEventOutcome>> {
    const lanes = new Map<string, Array<{ row: PendingUsage; at: Date }>>();
    for (const entry of entries) {
      const key = `${entry.row.customerId}|${entry.row.kind}`;
      const lane = lanes.get(key);
      if (lane) lane.push(entry);
      else lanes.set(key, [entry]);
    }
    const queue = [...lanes.values()];
    const outcomes = new Map<string, MeterEventOutcome>();
    let bug: unknown;
    const worker = async () => {
      for (let lane = queue.shift(); lane; lane = queue.shift()) {
        for (const { row, at } of lane) {
          if (bug !== undefined || this.#outOfTime()) return;
          this.counters.calls++;
          try {
            await this.stripe.billing.meterEvents.create(meterEventParams(row, at, this.options.eventNames));
            outcomes.set(row.id, { kind: 'accepted' });
          } catch (error) {
            const outcome = outcomeOfError(error);
            if (!outcome) {
              bug = error;
              return;
            }
            outcomes.set(row.id, outcome);
            this.#stopFor(outcome);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.concurrency, queue.length)) }, worker));
    if (bug !== undefined) throw bug;
    return outcomes;
  }
}

function outcomeOf(run: SyncRun): StripeSyncOutcome {
  if (run.stop && run.stop.reason !== 'time_budget') return run.stop.reason === 'configuration' ? 'failed' : 'backed_off';
  const { rejected, retrying, stranded, expired, reconcile_ambiguous: ambiguous } = run.counters;
  return rejected + retrying + stranded + expired + ambiguous > 0 ? 'completed_with_errors' : 'completed';
}

/**
 * One run of the Stripe sync (the `syncUsageToStripe` timer, or a test, or the bench). `stripe` null means billing
 * is off: the run only records that it waits for configuration.
 */
export async function syncUsageToStripe(
  db: Kysely<Database>,
  stripe: Stripe | null,
  options: SyncOptions,
  log: SyncLog,
): Promise<SyncReport> {
  if (!stripe) {
    const pending = await countPending(db);
    const details = {
      reason: 'Stripe is not configured (STRIPE_SECRET_KEY); usage accrues and will be sent once it is.',
      waiting_tokens: pending.tokens,
      waiting_storage: pending.storage,
    };
    const runId = await startSyncRun(db, 'waiting_for_configuration', details);
    log.log(`Stripe sync: waiting for configuration; ${pending.tokens} token and ${pending.storage} storage rows wait.`);
    return { runId, outcome: 'waiting_for_configuration', details };
  }

  // The whole run on one connection, which holds the advisory lock; if the process dies, the connection closes
  // and the lock goes with it.
  return db.connection().execute(async (connection) => {
    if (!(await tryLockSync(connection))) {
      const runId = await startSyncRun(connection, 'skipped_locked', { reason: 'another sync run holds the lock' });
      log.log('Stripe sync: another run is in progress; skipped.');
      return { runId, outcome: 'skipped_locked' as const, details: {} };
    }
    try {
      const runId = await startSyncRun(connection);
      const started = performance.now();
      const run = new SyncRun(connection, stripe, options, log);
      let outcome: StripeSyncOutcome;
      let failure: unknown;
      try {
        await run.runKind('tokens');
        await run.runKind('storage');
        outcome = outcomeOf(run);
      } catch (error) {
        failure = error;
        outcome = 'failed';
      }
      const waiting = await countWaitingWithoutCustomer(connection);
      const seconds = (performance.now() - started) / 1000;
      const details: JsonObject = {
        ...run.counters,
        seconds: Number(seconds.toFixed(3)),
        waiting_without_customer: waiting.tokens + waiting.storage,
        ...(run.stop ? { stopped: run.stop.reason, ...(run.stop.error ? { stop_error: run.stop.error } : {}) } : {}),
        ...(run.expiredSamples.length > 0 ? { expired_examples: run.expiredSamples } : {}),
        ...(failure !== undefined ? { error: String(failure) } : {}),
      };
      await finishSyncRun(connection, runId, outcome, details);
      const summary = `Stripe sync ${outcome}: ${JSON.stringify(details)}`;
      if (outcome === 'completed') log.log(summary);
      else if (outcome === 'completed_with_errors') log.warn(summary);
      else if (outcome === 'backed_off') log.warn(summary);
      else log.error(summary);
      if (failure !== undefined) throw failure;
      return { runId, outcome, details };
    } finally {
      // If the connection broke, the lock went with its session; nothing else to undo.
      await unlockSync(connection).catch((error: unknown) => log.warn('Stripe sync: could not release the lock:', error));
    }
  });
}
