import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStripeSetupCommand } from '../../scripts/stripeSetup.js';
import { createStripeClient } from '../../shared/billing/stripeClient.js';
import { startFakeStripe, type FakeStripe } from '../../fakes/fakeStripe.js';

/* npm run stripe:setup against the fake Stripe: creates the meters and metered prices once, then finds them. */

let fake: FakeStripe;
beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(async () => {
  await fake?.close();
});

function capture() {
  const lines = { log: [] as string[], error: [] as string[] };
  return { lines, out: { log: (line: string) => lines.log.push(line), error: (line: string) => lines.error.push(line) } };
}

describe('npm run stripe:setup', () => {
  const env = () => ({ STRIPE_SECRET_KEY: fake.secretKey, STRIPE_API_URL: fake.url });

  it('creates the two meters and their metered prices, then finds them on the next run and prints the settings', async () => {
    const first = capture();
    expect(await runStripeSetupCommand(env(), first.out)).toBe(0);
    const meterCreates = fake.calls('POST', '/v1/billing/meters');
    expect(meterCreates.map((call) => call.form)).toEqual([
      {
        display_name: 'Tracepipe tokens',
        event_name: 'tracepipe_tokens',
        default_aggregation: { formula: 'sum' },
        customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
        value_settings: { event_payload_key: 'value' },
      },
      expect.objectContaining({ event_name: 'tracepipe_storage_kb_hours', display_name: 'Tracepipe storage (KB-hours)' }),
    ]);
    const priceCreates = fake.calls('POST', '/v1/prices');
    expect(priceCreates).toHaveLength(2);
    const [tokensMeter, storageMeter] = [...fake.meters.values()];
    expect(priceCreates[0]!.form).toMatchObject({
      currency: 'usd',
      unit_amount_decimal: '0.0002',
      recurring: { interval: 'month', usage_type: 'metered', meter: tokensMeter!.id },
      lookup_key: 'tracepipe_tokens_usd',
    });
    expect(priceCreates[1]!.form).toMatchObject({
      // 0.005 per GB-hour is 0.000000005 per KB-hour.
      unit_amount_decimal: '0.000000005',
      recurring: { usage_type: 'metered', meter: storageMeter!.id },
    });
    const tokensPrice = first.lines.log.find((line) => line.startsWith('STRIPE_TOKENS_PRICE_ID='));
    expect(tokensPrice).toMatch(/^STRIPE_TOKENS_PRICE_ID=price_/);

    const second = capture();
    expect(await runStripeSetupCommand(env(), second.out)).toBe(0);
    expect(fake.calls('POST', '/v1/billing/meters')).toHaveLength(2);
    expect(fake.calls('POST', '/v1/prices')).toHaveLength(2);
    expect(second.lines.log).toContain(tokensPrice);
  });

  it('replaces a price whose amount changed, moving its lookup key to the new one', async () => {
    const run = capture();
    expect(await runStripeSetupCommand({ ...env(), BILLING_TOKEN_PRICE_PER_MILLION: '250' }, run.out)).toBe(0);
    const creates = fake.calls('POST', '/v1/prices');
    expect(creates).toHaveLength(3);
    expect(creates[2]!.form).toMatchObject({ unit_amount_decimal: '0.00025', transfer_lookup_key: 'true' });
    expect(fake.calls('POST', '/v1/billing/meters')).toHaveLength(2);
  });

  it('refuses to rotate a price that live subscriptions bill, names them, and changes nothing', async () => {
    const stripe = createStripeClient({ secretKey: fake.secretKey, apiUrl: fake.url, timeoutMs: 5_000 }, { retries: 0 });
    const current = (await stripe.prices.list({ lookup_keys: ['tracepipe_tokens_usd'], active: true })).data[0]!;
    const customer = fake.addCustomer();
    const subscription = await stripe.subscriptions.create({ customer, items: [{ price: current.id }] });
    const pricesBefore = fake.calls('POST', '/v1/prices').length;
    const run = capture();
    expect(await runStripeSetupCommand({ ...env(), BILLING_TOKEN_PRICE_PER_MILLION: '300' }, run.out)).toBe(3);
    expect(run.lines.error.join('\n')).toMatch(new RegExp(`refused: The tokens price ${current.id} .* billed by 1 live subscription\\(s\\) \\(${subscription.id}\\)`));
    expect(fake.calls('POST', '/v1/prices')).toHaveLength(pricesBefore);

    // Once no live subscription bills it, it rotates.
    await stripe.subscriptions.cancel(subscription.id);
    expect(await runStripeSetupCommand({ ...env(), BILLING_TOKEN_PRICE_PER_MILLION: '300' }, capture().out)).toBe(0);
    expect(fake.calls('POST', '/v1/prices')).toHaveLength(pricesBefore + 1);
  });

  it('refuses to adopt a meter that does not sum, and re-activates an archived one', async () => {
    const other = await startFakeStripe();
    try {
      const stripe = createStripeClient({ secretKey: other.secretKey, apiUrl: other.url, timeoutMs: 5_000 }, { retries: 0 });
      await stripe.billing.meters.create({
        display_name: 'Counts instead',
        event_name: 'tracepipe_tokens',
        default_aggregation: { formula: 'count' },
      });
      const refused = capture();
      expect(await runStripeSetupCommand({ STRIPE_SECRET_KEY: other.secretKey, STRIPE_API_URL: other.url }, refused.out)).toBe(3);
      expect(refused.lines.error.join('\n')).toMatch(/meter mtr_\w+ for event name "tracepipe_tokens" aggregates with "count", not "sum"/);
      expect(other.calls('POST', '/v1/prices')).toHaveLength(0);

      const storage = await stripe.billing.meters.create({
        display_name: 'Storage',
        event_name: 'tracepipe_storage_kb_hours',
        default_aggregation: { formula: 'sum' },
        customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
        value_settings: { event_payload_key: 'value' },
      });
      await stripe.billing.meters.deactivate(storage.id);
      const run = capture();
      expect(await runStripeSetupCommand({ STRIPE_SECRET_KEY: other.secretKey, STRIPE_API_URL: other.url, STRIPE_TOKENS_METER_EVENT: 'tracepipe_tokens_v2' }, run.out)).toBe(0);
      expect(run.lines.log.find((line) => line.startsWith('storage:'))).toMatch(new RegExp(`meter ${storage.id} \\(reactivated\\)`));
      expect(other.meters.get(storage.id)?.status).toBe('active');
    } finally {
      await other.close();
    }
  });

  it('exits 2 naming the missing key', async () => {
    const run = capture();
    expect(await runStripeSetupCommand({}, run.out)).toBe(2);
    expect(run.lines.error.join('\n')).toMatch(/STRIPE_SECRET_KEY is required/);
  });
});
