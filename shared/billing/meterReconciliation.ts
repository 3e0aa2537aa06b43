import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { Database } from '../db/schema.js';
import { eventTimestamp, type PendingUsage, type UsageKind } from './meterEvents.js';
import { markFailed, markSent, usageInMinute } from './stripeSyncRepository.js';

/**
 * Rows in doubt for longer than Stripe's duplicate window: a call was made, its answer was lost, and resending
 * the same `identifier` would no longer be caught as a duplicate. They are never resent blindly. Instead, for each
 * (customer, meter, minute) the sync asks Stripe what it has (`billing.meters.listEventSummaries`, minute-aligned:
 * https://docs.stripe.com/api/billing/meter-event-summary/list) and compares it with the rows of that minute:
 *
 * - Stripe has what was confirmed plus every row in doubt: they all arrived; mark them sent (`reconciled_in_stripe`).
 * - Stripe has exactly what was confirmed: none arrived; resend them (`reconciled_resent`), or, past Stripe's
 *   35 days, record them as failed (`reconciled_not_in_stripe_expired`) so that they are reported, not lost.
 * - Anything else cannot be told apart: record the rows as failed (`reconcile_ambiguous`) with both figures, for
 *   a person to settle (a meter event adjustment, or clearing stripe_failed_at). Nothing is resent.
 *
 * Summaries are eventually consistent, but a day after the call they have long settled.
 */

export interface ReconciliationResult {
  resend: PendingUsage[];
  inStripe: number;
  expired: number;
  ambiguous: number;
}

export class MeterIds {
  #byEventName: Map<string, string> | undefined;

  constructor(private readonly stripe: Stripe) {}

  async of(eventName: string): Promise<string> {
    if (!this.#byEventName) {
      const meters = await this.stripe.billing.meters.list({ status: 'active', limit: 100 }).autoPagingToArray({ limit: 1000 });
      this.#byEventName = new Map(meters.map((meter) => [meter.event_name, meter.id]));
    }
    const id = this.#byEventName.get(eventName);
    if (!id) throw new Error(`No active Stripe meter has the event name "${eventName}" (run npm run stripe:setup).`);
    return id;
  }
}

export async function reconcileInDoubt(
  db: Kysely<Database>,
  stripe: Stripe,
  meterIds: MeterIds,
  eventNames: Record<UsageKind, string>,
  rows: PendingUsage[],
  canStillSend: (row: PendingUsage) => boolean,
): Promise<ReconciliationResult> {
  const result: ReconciliationResult = { resend: [], inStripe: 0, expired: 0, ambiguous: 0 };
  const groups = new Map<string, PendingUsage[]>();
  for (const row of rows) {
    const minute = Math.floor(eventTimestamp(row.sentTimestamp ?? row.occurredAt) / 60) * 60;
    const key = `${row.kind}|${row.userId}|${minute}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  for (const group of groups.values()) {
    const first = group[0] as PendingUsage;
    const kind = first.kind;
    const minute = Math.floor(eventTimestamp(first.sentTimestamp ?? first.occurredAt) / 60) * 60;
    const summaries = await stripe.billing.meters
      .listEventSummaries(await meterIds.of(eventNames[kind]), {
        customer: first.customerId,
        start_time: minute,
        end_time: minute + 60,
      })
      .autoPagingToArray({ limit: 100 });
    const inStripe = summaries.reduce((sum, summary) => sum + summary.aggregated_value, 0);
    const known = await usageInMinute(db, kind, first.userId, new Date(minute * 1000), new Date((minute + 60) * 1000));
    const confirmed = known.filter((row) => row.sent).reduce((sum, row) => sum + row.value, 0);
    const inDoubt = known.filter((row) => row.inDoubt).reduce((sum, row) => sum + row.value, 0);
    const ids = group.map((row) => row.id);

    if (inStripe === confirmed + inDoubt) {
      await markSent(db, kind, ids, 'reconciled_in_stripe');
      result.inStripe += group.length;
    } else if (inStripe === confirmed) {
      const resendable = group.filter(canStillSend);
      const tooOld = group.filter((row) => !canStillSend(row));
      result.resend.push(...resendable);
      await markFailed(
        db,
        kind,
        tooOld.map((row) => ({
          id: row.id,
          error: 'Stripe never received this event and it is now older than the 35 days Stripe accepts.',
        })),
        'reconciled_not_in_stripe_expired',
      );
      result.expired += tooOld.length;
    } else {
      await markFailed(
        db,
        kind,
        group.map((row) => ({
          id: row.id,
          error:
            `Could not tell whether Stripe received this event: Stripe has ${inStripe} for that minute, ` +
            `${confirmed} was confirmed, ${inDoubt} is in doubt. Settle by hand.`,
        })),
        'reconcile_ambiguous',
      );
      result.ambiguous += group.length;
    }
  }
  return result;
}
