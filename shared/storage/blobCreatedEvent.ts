import { z } from 'zod';

/*
 * Azure Storage's `Microsoft.Storage.BlobCreated` event in the Event Grid schema, as a Storage queue subscription
 * delivers it: one event per message (https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage,
 * https://learn.microsoft.com/azure/event-grid/handler-storage-queues). It fires once a block blob is committed
 * (Put Blob, Put Block List, Copy Blob). The subject names the container and the blob:
 * `/blobServices/default/containers/<container>/blobs/<blob name>`. `data.eTag` is the version that was written,
 * without the quotes the blob service puts around an ETag in its headers.
 */

export const BLOB_CREATED_EVENT_TYPE = 'Microsoft.Storage.BlobCreated';

/** The subject prefix of every blob of `container` (an Event Grid subscription's `subjectBeginsWith`). */
export function blobSubjectPrefix(container: string): string {
  return `/blobServices/default/containers/${container}/blobs/`;
}

const blobCreatedEventSchema = z.object({
  id: z.string().min(1),
  subject: z.string().min(1),
  eventType: z.literal(BLOB_CREATED_EVENT_TYPE),
  eventTime: z.string(),
  data: z.looseObject({
    api: z.string().optional(),
    eTag: z.string().min(1),
    contentLength: z.number().optional(),
    blobType: z.string().optional(),
    url: z.string(),
  }),
});

export interface BlobCreatedEvent {
  id: string;
  container: string;
  blobName: string;
  /** The written version's ETag, quoted as the blob service's headers quote it (and the SDK answers it). */
  etag: string;
  contentLength: number | undefined;
  url: string;
}

/**
 * The event in a queue message (the Functions queue trigger hands over JSON already parsed, a string otherwise),
 * or why it is not a BlobCreated event.
 */
export function parseBlobCreatedEvent(message: unknown): { event: BlobCreatedEvent } | { problem: string } {
  let value = message;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return { problem: 'the message is not JSON' };
    }
  }
  const parsed = blobCreatedEventSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: `not a BlobCreated event in the Event Grid schema (${issue?.path.join('.') || 'message'}: ${issue?.message})` };
  }
  const { id, subject, data } = parsed.data;
  const match = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/s.exec(subject);
  if (!match) return { problem: `the subject "${subject}" does not name a blob` };
  return {
    event: {
      id,
      container: match[1] as string,
      blobName: match[2] as string,
      etag: `"${data.eTag.replace(/"/g, '')}"`,
      contentLength: data.contentLength,
      url: data.url,
    },
  };
}
