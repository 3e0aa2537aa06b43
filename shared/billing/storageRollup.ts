import type { Insertable, Kysely } from 'kysely';
import type { Database, StorageSampleRollupsTable } from '../db/schema.js';
import { storageMeterValue } from './pricing.js';
import {
  deleteSamples,
  findFinalInvoicesWithSamples,
  insertRollups,
  lockSettledSamples,
  type SettledSample,
} from './storageRollupRepository.js';

/**
 * Rolls up the hourly storage samples billed into final invoices (the daily lifecycle run), so that the table
 * does not grow by 744 rows a month per user: only a period Stripe has finalized (its invoice open, paid or void),
 * and only the samples settled with Stripe (sent, or failed for good); one still to send, or in doubt, stays a
 * sample. The samples of one roll-up share their calendar month and every column GET /v1/usage reads of a
 * sample's billing (carried_to, sent, failed, attempted, resolution), and the roll-up keeps the sum of their
 * byte-hours and of their meter values (each rounded as it was sent): the usage, its estimate and the invoices
 * read the same figures before and after. A rolled-up period can no longer be compared or resent sample by
 * sample (billing:resend); it is final at Stripe by then.
 */

const HOUR_MS = 3_600_000;

export interface RollupReport {
  periods: number;
  samples_rolled_up: number;
}

function groupKey(sample: SettledSample): string {
  return [
    `${sample.hour.getUTCFullYear()}-${sample.hour.getUTCMonth()}`,
    sample.stripe_timestamp?.toISOString() ?? '',
    sample.stripe_sent_at !== null,
    sample.stripe_failed_at !== null,
    sample.stripe_attempted_at !== null,
    sample.stripe_resolution ?? '',
  ].join('|');
}

function rollupOf(userId: string, invoiceId: string, group: SettledSample[]): Insertable<StorageSampleRollupsTable> {
  const first = group[0] as SettledSample;
  const last = group[group.length - 1] as SettledSample;
  return {
    user_id: userId,
    invoice_id: invoiceId,
    hour_from: first.hour,
    hour_until: new Date(last.hour.getTime() + HOUR_MS),
    samples: group.length,
    // Exact: a month of hourly bytes can pass 2^53 only at exabyte scale, but BigInt costs nothing here.
    byte_hours: group.reduce((sum, sample) => sum + BigInt(sample.bytes), 0n).toString(),
    meter_kb_hours: group.reduce((sum, sample) => sum + storageMeterValue(sample.bytes), 0),
    carried_to: first.stripe_timestamp,
    sent: first.stripe_sent_at !== null,
    failed: first.stripe_failed_at !== null,
    attempted: first.stripe_attempted_at !== null,
    resolution: first.stripe_resolution,
  };
}

export async function rollUpInvoicedStorage(db: Kysely<Database>, limit = 500): Promise<RollupReport> {
  const report: RollupReport = { periods: 0, samples_rolled_up: 0 };
  for (const invoice of await findFinalInvoicesWithSamples(db, limit)) {
    const rolled = await db.transaction().execute(async (trx) => {
      const samples = await lockSettledSamples(trx, invoice.user_id, invoice.period_start, invoice.period_end);
      const groups = new Map<string, SettledSample[]>();
      for (const sample of samples) {
        const key = groupKey(sample);
        const group = groups.get(key);
        if (group) group.push(sample);
        else groups.set(key, [sample]);
      }
      await insertRollups(trx, [...groups.values()].map((group) => rollupOf(invoice.user_id, invoice.invoice_id, group)));
      await deleteSamples(trx, samples.map((sample) => sample.id));
      return samples.length;
    });
    report.periods++;
    report.samples_rolled_up += rolled;
  }
  return report;
}
