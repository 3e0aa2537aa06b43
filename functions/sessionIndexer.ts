import { app, type InvocationContext } from '@azure/functions';
import { advanceA2pTasksOf } from '../shared/a2p/a2pDeps.js';
import { indexerDeps } from '../shared/sessions/indexerDeps.js';
import { indexSessionUpload } from '../shared/sessions/indexSessionUpload.js';
import { parseStagingBlobName, UPLOAD_EVENTS_SUBSCRIPTION } from '../shared/sessions/sessionBlob.js';
import { parseBlobCreatedEvent } from '../shared/storage/blobCreatedEvent.js';
import { UPLOADS_CONTAINER } from '../shared/storage/layout.js';
import { invocationDeps } from '../shared/runtime/appDeps.js';

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
 * goes to `upload-events-poison`; the settle timer (functions/timers.ts) indexes what is left `processing`.
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
    const deps = invocationDeps(context);
    const indexed = await indexSessionUpload(await indexerDeps(deps), event.blobName, { etag: event.etag });
    const sessionId = parseStagingBlobName(event.blobName)?.sessionId;
    if (sessionId && (indexed.outcome === 'ready' || indexed.outcome === 'invalid')) {
      await advanceA2pTasksOf(deps, { sessionId });
    }
  },
});

