import { app, type InvocationContext } from '@azure/functions';
import { advanceA2pTasksOf } from '../shared/a2p/a2pDeps.js';
import { getConfig } from '../shared/config.js';
import { getDb } from '../shared/db/index.js';
import { indexSessionUpload, type IndexUploadDeps } from '../shared/sessions/indexSessionUpload.js';
import { parseStagingBlobName, UPLOAD_EVENTS_SUBSCRIPTION } from '../shared/sessions/sessionBlob.js';
import { removeAbandonedStaging, settleStaleUploads } from '../shared/sessions/staleUploads.js';
import { parseBlobCreatedEvent } from '../shared/storage/blobCreatedEvent.js';
import { getBlobServiceClient } from '../shared/storage/storageAccess.js';
import { SESSIONS_CONTAINER, UPLOADS_CONTAINER } from '../shared/storage/layout.js';

async function indexerDeps(context: InvocationContext): Promise<IndexUploadDeps> {
  const config = getConfig();
  const service = await getBlobServiceClient();
  return {
    db: getDb(),
    uploads: service.getContainerClient(UPLOADS_CONTAINER),
    sessions: service.getContainerClient(SESSIONS_CONTAINER),
    maxBytes: {
      url: config.sessions.uploadMaxBytes,
      multipart: config.sessions.multipartMaxBytes,
      inline: config.sessions.multipartMaxBytes,
    },
    logger: context,
  };
}

/**
 * Indexes each upload (`uploads/<session-id>/<attempt>/<file>`) into the session's canonical files, once per blob
 * version (shared/sessions/indexSessionUpload.ts), from the blob's BlobCreated event.
 *
 * Event Grid puts the storage account's BlobCreated events of `uploads` on the `upload-events` queue (infra/
 * modules/uploadEvents.bicep; locally the host does, from what it sees uploaded), and this queue trigger reads
 * them. Not a blob trigger: for one, the Functions host reads the whole blob and hands its bytes to the Node.js
 * worker (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#memory-usage-and-concurrency),
 * which a multi-GB trace cannot afford; this handler gets a small message and the indexer streams the blob itself.
 * No webhook either, so no host key is needed to subscribe, and the subscription is made with the rest of the infra.
 *
 * A message that is not a BlobCreated event of `uploads` is logged and dropped: retrying cannot make it one.
 * Whatever the indexer throws fails the invocation: the message comes back (host.json maxDequeueCount 5), then
 * goes to `upload-events-poison`; the settle timer below indexes what is left `processing`.
 */
app.storageQueue('indexSessionUpload', {
  queueName: UPLOAD_EVENTS_SUBSCRIPTION.queue,
  connection: 'AzureWebJobsStorage',
  handler: async (message: unknown, context: InvocationContext) => {
    const parsed = parseBlobCreatedEvent(message);
    if ('problem' in parsed) {
      context.error(`Dropped message ${String(context.triggerMetadata?.id ?? '')} of ${UPLOAD_EVENTS_SUBSCRIPTION.queue}: ${parsed.problem}.`);
      return;
    }
    const { event } = parsed;
    if (event.container !== UPLOADS_CONTAINER) {
      context.error(`Dropped event ${event.id}: it is about container ${event.container}, not ${UPLOADS_CONTAINER}.`);
      return;
    }
    const indexed = await indexSessionUpload(await indexerDeps(context), event.blobName, { etag: event.etag });
    const sessionId = parseStagingBlobName(event.blobName)?.sessionId;
    if (sessionId && (indexed.outcome === 'ready' || indexed.outcome === 'invalid')) {
      await advanceA2pTasksOf({ sessionId }, (line) => context.warn(line));
    }
  },
});

/**
 * Every 15 minutes, sessions stuck in `processing` for an hour are settled (shared/sessions/staleUploads.ts): an
 * upload that never completed becomes `invalid`, one whose trigger never ran (or whose indexing died) is indexed;
 * A2P tasks follow. Staging uploads older than 7 days (never completed, or never indexed) are removed.
 */
app.timer('settleStaleSessionUploads', {
  schedule: '0 */15 * * * *',
  handler: async (_timer, context) => {
    const deps = await indexerDeps(context);
    const settled = await settleStaleUploads(deps);
    for (const { sessionId } of settled) await advanceA2pTasksOf({ sessionId }, (message) => context.warn(message));
    context.log(`Settled ${settled.length} stale session upload(s): ${JSON.stringify(settled)}`);
    const removed = await removeAbandonedStaging(deps.uploads);
    if (removed.length > 0) context.log(`Removed ${removed.length} staging upload(s) older than 7 days: ${removed.join(', ')}`);
  },
});
