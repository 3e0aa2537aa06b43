import { z } from '../openapi/zod.js';

export const RetentionPreviewSchema = z
  .object({
    as_of: z.iso.datetime().openapi({ description: 'The time the preview was made for: the next run deletes at least this.' }),
    sessions: z.object({
      count: z.number().int().min(0).openapi({ description: 'Sessions whose files the next run deletes (they become `expired`).' }),
      stored_bytes: z.number().int().min(0).openapi({ description: 'The bytes they hold (what stops being billed).' }),
      items: z
        .array(
          z.object({
            id: z.uuid(),
            status: z.enum(['ready', 'invalid', 'awaiting_upload']),
            created_at: z.iso.datetime(),
            expires_at: z.iso.datetime(),
            stored_bytes: z.number().int().min(0),
          }),
        )
        .openapi({ description: 'The oldest 100.' }),
    }),
    examples: z.object({
      count: z.number().int().min(0).openapi({ description: 'Examples the next run deletes (their messages go).' }),
      items: z
        .array(z.object({ id: z.uuid(), session_id: z.uuid(), created_at: z.iso.datetime(), expires_at: z.iso.datetime() }))
        .openapi({ description: 'The oldest 100.' }),
    }),
  })
  .openapi('RetentionPreview');

export type RetentionPreviewResponse = z.infer<typeof RetentionPreviewSchema>;
