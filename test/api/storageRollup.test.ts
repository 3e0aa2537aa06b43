import { BlobServiceClient } from '@azure/storage-blob';
import type { Insertable, Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BILLED_RESOLUTIONS } from '../../shared/billing/meterEvents.js';
import { KB_PER_GB, storageMeterValue } from '../../shared/billing/pricing.js';
import { rollUpInvoicedStorage } from '../../shared/billing/storageRollup.js';
import { sampleStorage } from '../../shared/billing/storageSampler.js';
import { createDatabase } from '../../shared/db/database.js';
import type { Database, StorageSamplesTable } from '../../shared/db/schema.js';
import { callApi } from '../support/http.js';
import { createTestUser, type TestUser } from '../support/users.js';

/**
 * Storage samples billed into a final invoice rolled up: the table keeps a few rows per invoice instead of the
 * hours, and GET /v1/usage (every figure of it, the estimate included) and GET /v1/invoices read the same before
 * and after. The samples are of every kind the sync leaves: sent, sent as nothing to send, failed, carried into
 * the period from the month before, and still unsent (which stay samples).
 */

const HOUR = 3_600_000;
let db: Kysely<Database>;

beforeAll(() => {
  db = createDatabase({ connectionString: inject('databaseUrl'), poolMax: 2 });
});
afterAll(() => db.destroy());

const monthKey = (date: Date) => date.toISOString().slice(0, 7);

/** Last month's hours, sampled and billed into one invoice of status `status`, with samples of every kind. */
async function invoicedLastMonth(user: TestUser, status: 'paid' | 'draft') {
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const before = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1));
  const sentAt = new Date(start.getTime() + 40 * 24 * HOUR);
  const samples: Array<Insertable<StorageSamplesTable>> = [];
  for (let hour = start.getTime(), index = 0; hour < end.getTime(); hour += HOUR, index++) {
    const sample: Insertable<StorageSamplesTable> = {
      user_id: user.userId,
      hour: new Date(hour),
      bytes: 2_500_000_000 + index * 1_234_567,
      stripe_sent_at: sentAt,
      stripe_resolution: 'sent',
    };
    if (index < 3) Object.assign(sample, { stripe_sent_at: null, stripe_failed_at: sentAt, stripe_resolution: 'expired' });
    else if (index < 5) Object.assign(sample, { bytes: 100, stripe_resolution: 'nothing_to_send' });
    else if (index < 7) Object.assign(sample, { stripe_sent_at: null, stripe_resolution: null });
    samples.push(sample);
  }
  // Three hours of the month before, sent late: carried into this period's first hour.
  for (let index = 0; index < 3; index++) {
    samples.push({
      user_id: user.userId,
      hour: new Date(before.getTime() + (100 + index) * HOUR),
      bytes: 7_000_000_000,
      stripe_sent_at: sentAt,
      stripe_resolution: 'sent',
      stripe_timestamp: new Date(start.getTime() + HOUR),
    });
  }
  await db.insertInto('storage_samples').values(samples).execute();
  await db.updateTable('users').set({ created_at: before }).where('id', '=', user.userId).execute();
  const billed = samples.filter(
    (sample) => sample.stripe_sent_at && BILLED_RESOLUTIONS.includes(sample.stripe_resolution ?? ''),
  );
  const meterKbHours = billed.reduce((sum, sample) => sum + storageMeterValue(Number(sample.bytes)), 0);
  const invoice = await db
    .insertInto('invoices')
    .values({
      user_id: user.userId,
      stripe_invoice_id: `in_rollup_${user.userId.slice(0, 8)}`,
      period_start: start,
      period_end: end,
      storage_gb_hours: meterKbHours / KB_PER_GB,
      total_amount: 100,
      currency: 'usd',
      status,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { samples, meterKbHours, invoiceId: invoice.id, months: [monthKey(before), monthKey(start)], start, end };
}

async function usageOf(user: TestUser, month: string): Promise<unknown> {
  const usage = await callApi(`/v1/usage?period=${month}`, { key: user.key });
  expect(usage.status, usage.text).toBe(200);
  return usage.json;
}

async function everyView(user: TestUser, months: string[]) {
  return {
    usage: await Promise.all(months.map((month) => usageOf(user, month))),
    invoices: (await callApi('/v1/invoices', { key: user.key })).json,
  };
}

async function samplesOf(user: TestUser) {
  return db.selectFrom('storage_samples').select(['hour', 'bytes']).where('user_id', '=', user.userId).orderBy('hour').execute();
}

describe('the roll-up of invoiced storage samples', () => {
  it('sums the settled samples of a final invoice, and usage, estimate and invoices read the same after', async () => {
    const user = await createTestUser();
    const period = await invoicedLastMonth(user, 'paid');
    const before = await everyView(user, period.months);
    const lastMonth = before.usage[1] as { storage: { gb_hours: number } };
    expect(lastMonth.storage.gb_hours).toBeGreaterThan(1_000);

    const report = await rollUpInvoicedStorage(db);
    expect(report.samples_rolled_up).toBeGreaterThanOrEqual(period.samples.length - 2);
    // The two unsent hours stay samples; nothing else does.
    expect((await samplesOf(user)).map((sample) => sample.hour)).toEqual([
      new Date(period.start.getTime() + 5 * HOUR),
      new Date(period.start.getTime() + 6 * HOUR),
    ]);
    const rollups = await db.selectFrom('storage_sample_rollups').selectAll().where('user_id', '=', user.userId).orderBy('hour_from').execute();
    // Carried from the month before; failed; sent; nothing to send: one row each.
    expect(rollups.map((row) => [row.samples, row.sent, row.failed, row.resolution])).toEqual([
      [3, true, false, 'sent'],
      [3, false, true, 'expired'],
      [2, true, false, 'nothing_to_send'],
      [period.samples.length - 3 - 7, true, false, 'sent'],
    ]);
    expect(rollups.every((row) => row.invoice_id === period.invoiceId)).toBe(true);
    const rolledBytes = rollups.reduce((sum, row) => sum + Number(row.byte_hours), 0);
    const left = (await samplesOf(user)).reduce((sum, sample) => sum + Number(sample.bytes), 0);
    expect(rolledBytes + left).toBe(period.samples.reduce((sum, sample) => sum + Number(sample.bytes), 0));
    // What Stripe billed (the invoice's GB-hours) is the billed roll-ups' meter figure.
    const billedKb = rollups.filter((row) => BILLED_RESOLUTIONS.includes(row.resolution ?? '')).reduce((sum, row) => sum + Number(row.meter_kb_hours), 0);
    expect(billedKb).toBe(period.meterKbHours);

    expect(await everyView(user, period.months)).toEqual(before);

    // The sampler goes on after its mark; the rolled-up hours are not sampled again.
    await sampleStorage(db, BlobServiceClient.fromConnectionString(inject('storageConnectionString')), { log: () => undefined, warn: () => undefined }, new Date());
    expect((await samplesOf(user)).length).toBe(2);
    expect(await everyView(user, period.months)).toEqual(before);
    const again = await rollUpInvoicedStorage(db);
    expect(await db.selectFrom('storage_sample_rollups').select('id').where('user_id', '=', user.userId).execute()).toHaveLength(4);
    expect(again.samples_rolled_up).toBe(0);
  });

  it('leaves the samples of a draft invoice as they are', async () => {
    const drafted = await createTestUser();
    const draft = await invoicedLastMonth(drafted, 'draft');
    await rollUpInvoicedStorage(db);
    expect(await samplesOf(drafted)).toHaveLength(draft.samples.length);
  });
});
