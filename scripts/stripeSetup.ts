import { pathToFileURL } from 'node:url';
import { createStripeClient } from '../shared/billing/stripeClient.js';
import { SetupRefusal, setUpMeteredPrice } from '../shared/billing/stripeAccountSetup.js';
import { ConfigError, loadStripeSetupConfig } from '../shared/config.js';
import { consoleOutput, type CommandOutput } from './commandOutput.js';

/*
 * `npm run stripe:setup`: makes the two Billing Meters (tokens, storage MB-hours) and their monthly metered prices in
 * the Stripe account of STRIPE_SECRET_KEY (or at STRIPE_API_URL), finding existing ones by event name and lookup
 * key, so it can run any number of times; then prints the settings the app needs. Prices and event names come from
 * the same settings as the app's (BILLING_*, STRIPE_*_METER_EVENT). Exit codes: 0 done, 1 Stripe failed, 2 settings,
 * 3 refused (an existing meter that does not sum, or a price change while live subscriptions bill the price).
 */

export async function runStripeSetupCommand(env: Record<string, string | undefined>, out: CommandOutput): Promise<number> {
  let settings;
  try {
    settings = loadStripeSetupConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      out.error(error.message);
      return 2;
    }
    throw error;
  }
  const { billing } = settings;
  const stripe = createStripeClient(
    { secretKey: settings.secretKey, apiUrl: billing.stripeApiUrl, timeoutMs: billing.stripeTimeoutMs },
    { retries: 2 },
  );
  try {
    const tokens = await setUpMeteredPrice(stripe, billing, 'tokens');
    const storage = await setUpMeteredPrice(stripe, billing, 'storage');
    for (const result of [tokens, storage]) {
      out.log(
        `${result.kind}: meter ${result.meterId} (${result.meter}), ` +
          `price ${result.priceId} (${result.priceCreated ? 'created' : 'found'}) at ${result.unitAmountDecimal} ` +
          `${billing.currency} minor units per ${result.kind === 'tokens' ? 'token' : 'KB-hour'}`,
      );
    }
    out.log('');
    out.log('Settings for the app:');
    out.log(`STRIPE_TOKENS_METER_EVENT=${billing.meterEvents.tokens}`);
    out.log(`STRIPE_STORAGE_METER_EVENT=${billing.meterEvents.storage}`);
    out.log(`STRIPE_TOKENS_PRICE_ID=${tokens.priceId}`);
    out.log(`STRIPE_STORAGE_PRICE_ID=${storage.priceId}`);
    out.log(`BILLING_CURRENCY=${billing.currency}`);
    out.log(`BILLING_TOKEN_PRICE_PER_MILLION=${billing.tokenPricePerMillion}`);
    out.log(`BILLING_STORAGE_PRICE_PER_GB_HOUR=${billing.storagePricePerGbHour}`);
    out.log('');
    out.log(
      'Webhook: point a Stripe webhook endpoint at <PUBLIC_BASE_URL>/v1/webhooks/stripe for setup_intent.succeeded, ' +
        'customer.updated, customer.subscription.* and invoice.* events, and set STRIPE_WEBHOOK_SECRET to its signing ' +
        'secret; point an event destination of thin events (v1.billing.meter.error_report_triggered) at the same URL ' +
        'and set STRIPE_EVENTS_WEBHOOK_SECRET to its secret.',
    );
    return 0;
  } catch (error) {
    if (error instanceof SetupRefusal) {
      out.error(`stripe:setup refused: ${error.message}`);
      return 3;
    }
    out.error(`stripe:setup failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  process.exitCode = await runStripeSetupCommand(process.env, consoleOutput);
}
