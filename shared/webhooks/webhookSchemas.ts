import { z } from '../openapi/zod.js';
import { MAX_WEBHOOK_URL_LENGTH } from './webhookAddressPolicy.js';

/** The events an endpoint may subscribe to. `ping` is sent by the test operation only, to that one endpoint. */
export const WEBHOOK_EVENT_TYPES = [
  'session.ready',
  'session.invalid',
  'example.completed',
  'example.failed',
  'dataset.ready',
  'dataset.failed',
  'usage.budget_threshold',
  'invoice.finalized',
  'invoice.paid',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number] | 'ping';

/** Each user may have this many endpoints (each event is one delivery per endpoint). */
export const MAX_WEBHOOK_ENDPOINTS = 20;
export const MAX_WEBHOOK_DESCRIPTION = 500;

const EventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES).openapi('WebhookEventType', {
  description:
    'session.ready / session.invalid (indexing finished), example.completed / example.failed (the pipelines ' +
    'service reported), dataset.ready / dataset.failed (a build ended), usage.budget_threshold (a budget ' +
    'threshold was crossed, once per month and threshold), invoice.finalized / invoice.paid (from Stripe).',
});

const UrlSchema = z
  .string()
  .trim()
  .min(1)
  .max(MAX_WEBHOOK_URL_LENGTH)
  .openapi({
    description:
      'Where events are POSTed. https only in production; its host must resolve to public addresses only ' +
      '(loopback, private, link-local such as 169.254.169.254, unique-local and other special ranges are refused ' +
      'with 422, and checked again at every delivery). Development and test also allow http and loopback ' +
      '(127.0.0.1, localhost). Redirects are not followed.',
    example: 'https://hooks.example.com/tracepipe',
  });

const EventsSchema = z
  .array(EventTypeSchema)
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .transform((events) => [...new Set(events)])
  .openapi({ description: 'The event types to send here; at least one.' });

const DescriptionSchema = z
  .string()
  .trim()
  .max(MAX_WEBHOOK_DESCRIPTION)
  .nullable()
  .openapi({ description: `A note for you; up to ${MAX_WEBHOOK_DESCRIPTION} characters.` });

export const CreateWebhookEndpointBodySchema = z
  .object({ url: UrlSchema, events: EventsSchema, description: DescriptionSchema.optional() })
  .openapi('CreateWebhookEndpoint', {
    example: { url: 'https://hooks.example.com/tracepipe', events: ['example.completed', 'example.failed'] },
  });
export type CreateWebhookEndpointBody = z.infer<typeof CreateWebhookEndpointBodySchema>;

export const UpdateWebhookEndpointBodySchema = z
  .object({
    url: UrlSchema.optional(),
    events: EventsSchema.optional(),
    description: DescriptionSchema.optional(),
    enabled: z.boolean().optional().openapi({
      description: 'false pauses deliveries (they wait, and fail once 24 hours old); true resumes them and clears `disabled_reason`.',
    }),
  })
  .openapi('UpdateWebhookEndpoint', { example: { enabled: true } });
export type UpdateWebhookEndpointBody = z.infer<typeof UpdateWebhookEndpointBodySchema>;

export const WebhookEndpointSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(EventTypeSchema),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable().openapi({
      description: 'Why deliveries stopped, when we stopped them (every delivery failed for 3 days); null otherwise.',
    }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi('WebhookEndpoint');
export type WebhookEndpointResponse = z.infer<typeof WebhookEndpointSchema>;

export const CreatedWebhookEndpointSchema = WebhookEndpointSchema.extend({
  secret: z.string().openapi({
    description:
      'The signing secret (`whsec_...`). Shown only in this response. Each delivery carries ' +
      '`Tracepipe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with this secret>`.',
  }),
}).openapi('CreatedWebhookEndpoint');

export const WebhookEndpointParams = z.object({ id: z.uuid() });
export const WebhookDeliveryParams = z.object({ id: z.uuid(), delivery_id: z.uuid() });

export const WebhookDeliverySchema = z
  .object({
    id: z.uuid(),
    event_id: z.uuid().openapi({ description: 'Also sent as `Tracepipe-Event-Id`: receivers dedupe on it.' }),
    event_type: z.string(),
    state: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int().min(0),
    last_status: z.number().int().nullable().openapi({ description: 'The HTTP status of the last answer; null when none came.' }),
    last_error: z.string().nullable().openapi({ description: 'Why the last attempt failed, when it did.' }),
    latency_ms: z.number().int().min(0).nullable().openapi({ description: 'How long the last attempt took.' }),
    next_attempt_at: z.iso.datetime().nullable(),
    delivered_at: z.iso.datetime().nullable(),
    failed_at: z.iso.datetime().nullable().openapi({ description: 'When retries ended (24 hours of them) without success.' }),
    created_at: z.iso.datetime(),
  })
  .openapi('WebhookDelivery');
export type WebhookDeliveryResponse = z.infer<typeof WebhookDeliverySchema>;

/** The body of every delivery: the event. */
export const WebhookEventPayloadSchema = z
  .object({
    id: z.uuid(),
    type: z.string(),
    created_at: z.iso.datetime(),
    data: z.unknown().openapi({ description: 'The resource as the REST API returns it (a session, an example, ...).' }),
  })
  .openapi('WebhookEvent');
