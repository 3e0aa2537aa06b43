import { sql, type Kysely } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  countPending,
  markAttempted,
  markFailed,
  markRetry,
  markSent,
  selectPendingUsage,
  unmarkNotAttempted,
  usageSentBetween,
} from '../../shared/billing/stripeSyncRepository.js';
import type { Database } from '../../shared/db/schema.js';
import { addCompletedExample, addUser, createUsageFixture, type UsageFixture } from '../support/billingFixtures.js';
import { useTestDatabase } from '../support/database.js';

/*
 * The Stripe sync's lists (migration 0015): token_usage_unsent and storage_samples_unsent (the work list), and the
 * *_carried lists, follow the state of their usage rows through triggers, whoever writes them, and the sync's own
 * updates leave the usage tables' indexes alone (HOT), which is what the lists are for.
 */

const HOUR = 3_600_000;

describe('the unsent usage work list', () => {
  const database = useTestDatabase();
  let db: Kysely<Database>;
  let fixture: UsageFixture;

  beforeAll(async () => {
    db = database.db();
    fixture = await createUsageFixture(db);
  });

  async function queuedTokens(userId: string) {
    return db.selectFrom('token_usage_unsent').selectAll().where('user_id', '=', userId).orderBy('recorded_at').execute();
  }

  async function tokenUsage(userId: string, count: number, start = new Date(Date.now() - 10 * HOUR)) {
    const ids: string[] = [];
    for (let n = 0; n < count; n++) {
      const { usageId } = await addCompletedExample(db, {
        userId,
        fixture,
        inputTokens: 10,
        outputTokens: 1,
        recordedAt: new Date(start.getTime() + n * HOUR),
      });
      ids.push(usageId);
    }
    return ids;
  }

  it('lists a new unsent row with its user and time, and leaves out a row written as sent', async () => {
    const userId = await addUser(db, 'cus_worklist_insert');
    const [unsent] = await tokenUsage(userId, 1);
    const recordedAt = await db.selectFrom('token_usage').select('recorded_at').where('id', '=', unsent as string).executeTakeFirstOrThrow();
    // A row inserted as already sent (as a restore or an import would write it).
    const { exampleId } = await addCompletedExample(db, { userId, fixture, inputTokens: 1, outputTokens: 1 });
    await db.deleteFrom('token_usage').where('example_id', '=', exampleId).execute();
    await db
      .insertInto('token_usage')
      .values({
        user_id: userId,
        example_id: exampleId,
        suite_id: fixture.suiteId,
        model_id: fixture.modelId,
        input_tokens: 1,
        output_tokens: 1,
        stripe_sent_at: new Date(),
        stripe_resolution: 'sent',
      })
      .execute();

    expect(await queuedTokens(userId)).toEqual([{ id: unsent, user_id: userId, recorded_at: recordedAt.recorded_at }]);
  });

  it('keeps rows attempted or waiting for a retry, and drops them once sent or failed', async () => {
    const userId = await addUser(db, 'cus_worklist_marks');
    const [attempted, sent, failed, retrying] = (await tokenUsage(userId, 4)) as [string, string, string, string];

    await markAttempted(db, 'tokens', [attempted, sent, failed, retrying].map((id) => ({ id, carriedTo: null })));
    expect((await queuedTokens(userId)).map((row) => row.id)).toEqual([attempted, sent, failed, retrying]);

    await markSent(db, 'tokens', [sent], 'sent');
    await markFailed(db, 'tokens', [{ id: failed, error: 'rejected' }], 'rejected');
    await markRetry(db, 'tokens', [{ id: retrying, error: 'archived meter' }], new Date());
    expect((await queuedTokens(userId)).map((row) => row.id)).toEqual([attempted, retrying]);

    const page = await selectPendingUsage(db, 'tokens', null, 100, { now: new Date(), userIds: [userId] });
    expect(page.rows.map((row) => [row.id, row.customerId])).toEqual([[attempted, 'cus_worklist_marks']]);
  });

  it('lists a row again when it is to be sent again, and follows a change of time or user', async () => {
    const userId = await addUser(db, 'cus_worklist_resend');
    const otherUserId = await addUser(db, 'cus_worklist_other');
    const [resent, moved] = (await tokenUsage(userId, 2)) as [string, string];
    await markSent(db, 'tokens', [resent], 'sent');
    expect((await queuedTokens(userId)).map((row) => row.id)).toEqual([moved]);

    // As billing:resend and reconciliation do: the row is unsent again.
    await db.updateTable('token_usage').set({ stripe_sent_at: null, stripe_resolution: 'reconcile_resend' }).where('id', '=', resent).execute();
    const later = new Date(Date.now() - HOUR);
    await db.updateTable('token_usage').set({ recorded_at: later, user_id: otherUserId }).where('id', '=', moved).execute();

    expect((await queuedTokens(userId)).map((row) => row.id)).toEqual([resent]);
    expect(await queuedTokens(otherUserId)).toEqual([{ id: moved, user_id: otherUserId, recorded_at: later }]);
  });

  it('lists a row carried into a later period with its timestamp, until the carry is undone', async () => {
    const userId = await addUser(db, 'cus_worklist_carried');
    const [carried, plain] = (await tokenUsage(userId, 2, new Date(Date.now() - 40 * 86_400_000))) as [string, string];
    const recordedAt = (await db.selectFrom('token_usage').select('recorded_at').where('id', '=', carried).executeTakeFirstOrThrow()).recorded_at;
    const carriedTo = new Date(Math.floor(Date.now() / 1000) * 1000 - HOUR);
    await markAttempted(db, 'tokens', [
      { id: carried, carriedTo },
      { id: plain, carriedTo: null },
    ]);
    const listed = () => db.selectFrom('token_usage_carried').selectAll().where('user_id', '=', userId).execute();
    const row = await db.selectFrom('token_usage').selectAll().where('id', '=', carried).executeTakeFirstOrThrow();
    // With what the usage estimate reads of it (0016): its suite, tokens and sync state.
    const carriedRow = {
      id: carried,
      user_id: userId,
      recorded_at: recordedAt,
      carried_to: carriedTo,
      suite_id: row.suite_id,
      amount: row.input_tokens + row.output_tokens,
      sent: false,
      failed: false,
      attempted: true,
      resolution: row.stripe_resolution,
    };
    expect(await listed()).toEqual([carriedRow]);

    // Reconciliation finds it by the timestamp it is sent with, not by its time of use.
    await markSent(db, 'tokens', [carried, plain], 'sent');
    expect(await listed()).toEqual([{ ...carriedRow, sent: true, resolution: 'sent' }]);
    await db.updateTable('token_usage').set({ output_tokens: row.output_tokens + 5, stripe_resolution: 'already_in_stripe' }).where('id', '=', carried).execute();
    expect(await listed()).toEqual([{ ...carriedRow, amount: carriedRow.amount + 5, sent: true, resolution: 'already_in_stripe' }]);
    // The row not carried was never listed, whatever its marks.
    expect((await listed()).map((listedRow) => listedRow.id)).not.toContain(plain);
    const sentNear = await usageSentBetween(db, 'tokens', userId, new Date(carriedTo.getTime() - 1000), new Date(carriedTo.getTime() + 1000));
    expect(sentNear.map((row) => row.id)).toEqual([carried]);
    const sentThen = await usageSentBetween(db, 'tokens', userId, new Date(recordedAt.getTime() - 1000), new Date(recordedAt.getTime() + 1000));
    expect(sentThen.map((row) => row.id)).toEqual([]);

    // As periodClose's reconcile_resend does: unsent again, its timestamp cleared.
    await db.updateTable('token_usage').set({ stripe_sent_at: null, stripe_timestamp: null }).where('id', '=', carried).execute();
    expect(await listed()).toEqual([]);
    await markAttempted(db, 'tokens', [{ id: carried, carriedTo }]);
    const [pending] = (await selectPendingUsage(db, 'tokens', null, 10, { now: new Date(), userIds: [userId] })).rows;
    await unmarkNotAttempted(db, 'tokens', [{ ...(pending as NonNullable<typeof pending>), attemptedAt: null }]);
    expect(await listed()).toEqual([]);
  });

  it('drops deleted rows, and counts what it lists', async () => {
    const userId = await addUser(db, 'cus_worklist_delete');
    const [kept, deleted] = (await tokenUsage(userId, 2)) as [string, string];
    const before = await countPending(db);
    await db.deleteFrom('token_usage').where('id', '=', deleted).execute();

    expect((await queuedTokens(userId)).map((row) => row.id)).toEqual([kept]);
    const after = await countPending(db);
    expect(Number(after.tokens)).toBe(Number(before.tokens) - 1);
  });

  it('lists storage samples by their hour, and drops them once sent or deleted', async () => {
    const userId = await addUser(db, 'cus_worklist_storage');
    const hour = new Date(Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR);
    const samples = await db
      .insertInto('storage_samples')
      .values([0, 1, 2].map((n) => ({ user_id: userId, hour: new Date(hour.getTime() + n * HOUR), bytes: 1_000 })))
      .returning('id')
      .execute();
    const [sent, deleted, waiting] = samples.map((row) => row.id) as [string, string, string];
    await markSent(db, 'storage', [sent], 'sent');
    await db.deleteFrom('storage_samples').where('id', '=', deleted).execute();

    const queued = await db.selectFrom('storage_samples_unsent').selectAll().where('user_id', '=', userId).execute();
    expect(queued).toEqual([{ id: waiting, user_id: userId, hour: new Date(hour.getTime() + 2 * HOUR) }]);
  });

  it("updates the sync's rows in place: attempted (carried or not) and sent touch no index of the usage tables", async () => {
    const userId = await addUser(db, 'cus_worklist_hot');
    const ids = await tokenUsage(userId, 3);
    const hot = await db.transaction().execute(async (trx) => {
      // The backend's counts not yet reported (pg_stat_get_xact_*), before and after: 6 updates, all heap-only.
      const counts = async (table: string) => {
        const { rows } = await sql<{ updated: string; hot: string }>`
          select pg_stat_get_xact_tuples_updated(${table}::regclass) as updated,
                 pg_stat_get_xact_tuples_hot_updated(${table}::regclass) as hot`.execute(trx);
        return { updated: Number(rows[0]?.updated), hot: Number(rows[0]?.hot) };
      };
      const before = { usage: await counts('token_usage'), carried: await counts('token_usage_carried') };
      // One of them carried into a later period: its timestamp is written, and no index names it either.
      await markAttempted(trx, 'tokens', ids.map((id, n) => ({ id, carriedTo: n === 0 ? new Date() : null })));
      await markSent(trx, 'tokens', ids, 'sent');
      const after = { usage: await counts('token_usage'), carried: await counts('token_usage_carried') };
      return {
        usage: { updated: after.usage.updated - before.usage.updated, hot: after.usage.hot - before.usage.hot },
        // The carried row's state in the list (0016), rewritten by the second mark, in place too.
        carried: { updated: after.carried.updated - before.carried.updated, hot: after.carried.hot - before.carried.hot },
      };
    });
    expect(hot).toEqual({ usage: { updated: 6, hot: 6 }, carried: { updated: 1, hot: 1 } });
  });

  it('gives new usage rows time-ordered ids (UUID version 7)', async () => {
    const userId = await addUser(db, 'cus_worklist_ids');
    const ids = await tokenUsage(userId, 3);
    expect(ids.map((id) => id[14])).toEqual(['7', '7', '7']);
    expect([...ids].sort()).toEqual(ids);
    const sample = await db.insertInto('storage_samples').values({ user_id: userId, hour: new Date(Math.floor(Date.now() / HOUR) * HOUR), bytes: 1 }).returning('id').executeTakeFirstOrThrow();
    expect(sample.id[14]).toBe('7');
  });
});
