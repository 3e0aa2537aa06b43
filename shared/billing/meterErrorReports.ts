import { sql, type Kysely, type Transaction } from 'kysely';
import type Stripe from 'stripe';
import { z } from 'zod';
import type { Database, JsonObject } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { parseMeterEventIdentifier } from './meterEvents.js';
import { HEALABLE_METER_ERRORS, retryDelayMs } from './meterEventOutcome.js';
import { callStripe } from './stripeOutage.js';

/*
 * Stripe's asynchronous meter error reports. Some meter events are accepted (200) and found invalid later, when
 * Stripe processes them; Stripe then emits the thin event `v1.billing.meter.error_report_triggered` to an event
 * destination (https://docs.stripe.com/api/v2/core/events/event-types): its payload names only the event, and
 * the details (error counts by code, with sample errors naming each event's `identifier`) come from fetching it
 * (`GET /v2/core/events/{id}`, the SDK's fetchEvent). Each sampled row of ours goes back to the sync:
 *
 * - errors that can heal (an archived or missing meter, a clock ahead) are tried again
 *   after a back-off, with a new identifier (the old one may still be held by Stripe's duplicate check);
 * - the others are marked failed (`async_rejected`) with Stripe's code and message, for a person to fix and then
 *   resend (`npm run billing:resend`).
 *
 * Errors beyond the samples are not named; the period close finds them by comparing what was sent with Stripe's
 * meter event summaries, and resends what is missing. Every report is kept in stripe_meter_error_reports.
 */

type ThinEvent = ReturnType<Stripe['parseEventNotification']>;

const SampleError = z.object({ error_message: z.string(), request: z.object({ identifier: z.string() }) });
const ErrorReportData = z.object({
  developer_message_summary: z.string().optional(),
  reason: z.object({
    error_count: z.number().int(),
    error_types: z.array(z.object({ code: z.string(), error_count: z.number().int(), sample_errors: z.array(SampleError) })),
  }),
  validation_start: z.string().optional(),
  validation_end: z.string().optional(),
});

const METER_ERROR_REPORT = 'v1.billing.meter.error_report_triggered';

/** A thin event names itself `v2.core.event`; read before verifying only to pick the secret that verifies it. */
export function isThinEventBody(rawBody: string): boolean {
  try {
    const parsed: unknown = JSON.parse(rawBody);
    return typeof parsed === 'object' && parsed !== null && (parsed as { object?: unknown }).object === 'v2.core.event';
  } catch {
    return false;
  }
}

/** Verifies a thin event with the event destination's secret, or 400. */
export function verifyThinEvent(stripe: Stripe, rawBody: string, signature: string | null, secret: string): ThinEvent {
  if (!signature) throw ApiError.badRequest('Missing the Stripe-Signature header.');
  try {
    return stripe.parseEventNotification(rawBody, signature, secret);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw ApiError.badRequest('The Stripe signature does not match the body.', { reason: message.slice(0, 300) });
  }
}

function dateOrNull(value: string | undefined): Date | null {
  const time = value ? Date.parse(value) : NaN;
  return Number.isFinite(time) ? new Date(time) : null;
}

/** Sends a sampled row back to the sync with a new identifier: tried again later, or failed for a person. */
async function returnToSync(
  db: Kysely<Database> | Transaction<Database>,
  identifier: string,
  error: { code: string; message: string },
  now: Date,
): Promise<boolean> {
  const parsed = parseMeterEventIdentifier(identifier);
  if (!parsed) return false;
  const next = `${parsed.base}-r${parsed.resend + 1}`;
  const healable = HEALABLE_METER_ERRORS.has(error.code);
  const set = sql`
    stripe_sent_at = null, stripe_identifier = ${next}, stripe_attempted_at = null,
    stripe_error = ${`async ${error.code}: ${error.message}`.slice(0, 500)},
    stripe_resolution = ${healable ? 'async_rejected_retrying' : 'async_rejected'},
    stripe_failed_at = ${healable ? null : now},
    stripe_retry_at = ${healable ? new Date(now.getTime() + retryDelayMs(1)) : null}`;
  // Only the row that event was sent for: its current identifier (or, never resent, the row's own).
  const current = sql`coalesce(stripe_identifier, ${parsed.base}) = ${identifier}`;
  const result =
    parsed.kind === 'tokens'
      ? await sql`update token_usage set ${set} where example_id = ${parsed.exampleId} and ${current}`.execute(db)
      : await sql`update storage_samples set ${set}
          where user_id = ${parsed.userId} and hour = ${parsed.hour} and ${current}`.execute(db);
  return Number(result.numAffectedRows ?? 0n) > 0;
}

/** Applies one verified thin event: the error report's sampled rows go back to the sync. */
export async function applyMeterErrorReport(
  trx: Transaction<Database>,
  notification: ThinEvent,
  now: Date,
): Promise<'applied' | 'ignored'> {
  if (notification.type !== METER_ERROR_REPORT) return 'ignored';
  const event = (await callStripe(() => notification.fetchEvent())) as unknown as { data?: unknown; related_object?: { id?: string } };
  const data = ErrorReportData.parse(event.data);
  let matched = 0;
  for (const type of data.reason.error_types) {
    for (const sample of type.sample_errors) {
      if (await returnToSync(trx, sample.request.identifier, { code: type.code, message: sample.error_message }, now)) matched++;
    }
  }
  await trx
    .insertInto('stripe_meter_error_reports')
    .values({
      stripe_event_id: notification.id,
      meter_id: event.related_object?.id ?? null,
      validation_start: dateOrNull(data.validation_start),
      validation_end: dateOrNull(data.validation_end),
      error_count: data.reason.error_count,
      matched_rows: matched,
      details: JSON.stringify(data as unknown as JsonObject),
    })
    .onConflict((conflict) => conflict.column('stripe_event_id').doNothing())
    .execute();
  return 'applied';
}
