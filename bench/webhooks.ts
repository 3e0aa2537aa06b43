/**
 * `npm run bench -- webhooks [--events 5000] [--seconds 30] [--rate 50] [--period-s 5]`: the webhook deliverer
 * against a loopback receiver (answers 200 at once), on a database of its own on the local PostgreSQL.
 * - throughput: `--events` events written to the outbox (one transaction each, as state changes write them), then
 *   one deliverer run (what the timer calls: batches of 100, 16 in flight) drains them: events delivered per second;
 * - delay: for `--seconds`, events are written at `--rate` a second while the deliverer runs every `--period-s`
 *   seconds (the default WEBHOOK_DELIVERY_SCHEDULE, one run at a time as the timer's singleton lock allows): the
 *   time from the event's commit to its arrival at the receiver, p50 and p99. The timer's period bounds it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDatabase } from '../shared/db/database.js';
import { migrateToLatest } from '../shared/db/migrator.js';
import { deliverDueWebhooks, type WebhookDeliveryDeps } from '../shared/webhooks/webhookDeliverer.js';
import { recordWebhookEvent } from '../shared/webhooks/webhookOutbox.js';
import { generateWebhookSecret } from '../shared/webhooks/webhookSignature.js';
import { argValue, createBenchDatabase, percentile, round1 } from './benchSupport.js';

const RUN = { batch: 100, concurrency: 16, timeBudgetMs: 240_000 };

export async function runWebhooksBenchmark(): Promise<Record<string, unknown>> {
  const events = argValue('--events', 5000);
  const seconds = argValue('--seconds', 30);
  const rate = argValue('--rate', 50);
  const periodMs = argValue('--period-s', 5) * 1000;

  const arrivals = new Map<string, number>();
  const receiver = createServer((request, response) => {
    const id = request.headers['tracepipe-event-id'];
    request.resume();
    request.on('end', () => {
      if (typeof id === 'string' && !arrivals.has(id)) arrivals.set(id, Date.now());
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const database = await createBenchDatabase();
  const db = createDatabase({ connectionString: database.url, poolMax: 20 });
  try {
    await migrateToLatest(db);
    const user = await db
      .insertInto('users')
      .values({ display_name: 'Bench', email: 'bench@example.com' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('webhook_endpoints')
      .values({ user_id: user.id, url, events: ['example.completed'], secret: generateWebhookSecret() })
      .execute();
    const data = { id: '00000000-0000-4000-8000-000000000000', status: 'COMPLETED', usage: { input_tokens: 1200, output_tokens: 300 } };
    const emit = () => db.transaction().execute((trx) => recordWebhookEvent(trx, user.id, 'example.completed', data));
    const deps: WebhookDeliveryDeps = { db, policy: { allowLoopback: true }, log: (message) => console.log(message) };

    console.log(`Throughput: writing ${events} events...`);
    for (let i = 0; i < events; i += 50) await Promise.all(Array.from({ length: Math.min(50, events - i) }, emit));
    const started = performance.now();
    const report = await deliverDueWebhooks(deps, RUN);
    const drainSeconds = (performance.now() - started) / 1000;
    console.log(`Delivered ${report.delivered} in ${drainSeconds.toFixed(2)} s.`);

    console.log(`Delay: ${rate} events/s for ${seconds} s, the deliverer every ${periodMs / 1000} s...`);
    const committed = new Map<string, number>();
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void deliverDueWebhooks(deps, RUN).finally(() => (running = false));
    }, periodMs);
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      const tick = Date.now();
      const id = await emit();
      committed.set(id, Date.now());
      const wait = 1000 / rate - (Date.now() - tick);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const deadline = Date.now() + periodMs * 3 + 15_000;
    while ([...committed.keys()].some((id) => !arrivals.has(id)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    clearInterval(timer);
    while (running) await new Promise((resolve) => setTimeout(resolve, 50));
    const delays = [...committed].flatMap(([id, at]) => (arrivals.has(id) ? [(arrivals.get(id) as number) - at] : [])).sort((a, b) => a - b);
    return {
      throughput_events: report.delivered,
      events_per_s: round1(report.delivered / drainSeconds),
      delay_events: committed.size,
      delay_delivered: delays.length,
      timer_period_s: periodMs / 1000,
      delay_p50_ms: percentile(delays, 50),
      delay_p99_ms: percentile(delays, 99),
    };
  } finally {
    await db.destroy();
    await database.drop();
    receiver.close();
  }
}
