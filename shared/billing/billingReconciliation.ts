import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { BillingConfig } from '../config.js';
import type { Database } from '../db/schema.js';
import { findUserIdByCustomer } from './billingAccountRepository.js';
import { markInvoiceDeleted, unsettledInvoiceIds } from './invoiceRepository.js';
import { storeInvoice } from './invoiceService.js';
import { callStripe } from './stripeOutage.js';
import { refreshSubscription, scheduleReanchor, subscribeCustomer } from './subscriptions.js';

/*
 * The daily reconciliation (`reconcileBilling`): what webhooks missed, read back from Stripe's list APIs. Stripe
 * retries a failed webhook for up to three days (https://docs.stripe.com/webhooks#retries); after an outage longer
 * than that, the local copies would stay wrong for ever without this.
 *
 * - Every subscription (`status=all`) is read into the local copy; a live one keeps no payment method of its own;
 *   one made before anchoring is set to end at the next 1st and be replaced then by an anchored one.
 * - Users with a card and a customer but no subscription at all are subscribed (a card added before the prices
 *   were configured, or a subscription call that failed).
 * - Invoices created in the last INVOICE_LOOKBACK_DAYS are read into the local copy, and so is every older one
 *   still unsettled here (draft, open, uncollectible), one by one.
 */

export interface ReconcileDeps {
  db: Kysely<Database>;
  stripe: Stripe;
  billing: BillingConfig;
}

export const INVOICE_LOOKBACK_DAYS = 40;
const DAY_MS = 86_400_000;

export interface ReconcileReport {
  subscriptions_read: number;
  /** Subscriptions made before anchoring, set to end at the next 1st and be replaced by anchored ones. */
  reanchoring: number;
  subscribed: number;
  invoices_read: number;
  invoices_written: number;
}

export async function reconcileBilling(deps: ReconcileDeps, now: Date): Promise<ReconcileReport> {
  const report: ReconcileReport = { subscriptions_read: 0, reanchoring: 0, subscribed: 0, invoices_read: 0, invoices_written: 0 };
  const { db, stripe } = deps;

  for await (const subscription of stripe.subscriptions.list({ status: 'all', limit: 100 })) {
    const customer = typeof subscription.customer === 'string' ? subscription.customer : subscription.customer.id;
    if (!(await findUserIdByCustomer(db, customer))) continue;
    const stored = await refreshSubscription(deps, subscription.id, now);
    report.subscriptions_read++;
    if (stored && (await scheduleReanchor(deps, stored, now))) report.reanchoring++;
  }

  const unsubscribed = await db
    .selectFrom('users')
    .select(['id', 'stripe_customer_id'])
    .where('stripe_customer_id', 'is not', null)
    .where('default_payment_method_id', 'is not', null)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('billing_subscriptions').select('user_id').whereRef('user_id', '=', 'users.id'))))
    .execute();
  for (const user of unsubscribed) {
    await subscribeCustomer(deps, { id: user.id, customerId: user.stripe_customer_id as string }, now);
    report.subscribed++;
  }

  const since = new Date(now.getTime() - INVOICE_LOOKBACK_DAYS * DAY_MS);
  const seen = new Set<string>();
  for await (const invoice of stripe.invoices.list({ created: { gte: Math.floor(since.getTime() / 1000) }, limit: 100 })) {
    if (invoice.id) seen.add(invoice.id);
    report.invoices_read++;
    if ((await storeInvoice(deps, invoice, now)) === 'applied') report.invoices_written++;
  }
  for (const id of await unsettledInvoiceIds(db, since)) {
    if (seen.has(id)) continue;
    let invoice: Stripe.Invoice;
    try {
      invoice = await callStripe(() => stripe.invoices.retrieve(id));
    } catch (error) {
      // Only drafts can be deleted; a deletion whose webhook was lost leaves a tombstone now.
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      await markInvoiceDeleted(db, id, now);
      continue;
    }
    report.invoices_read++;
    if ((await storeInvoice(deps, invoice, now)) === 'applied') report.invoices_written++;
  }
  return report;
}
