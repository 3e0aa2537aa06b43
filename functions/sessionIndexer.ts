import { app, type InvocationContext } from '@azure/functions';
import { advanceA2pTasksOf } from '../shared/a2p/a2pDeps.js';
import { getConfig } from '../shared/config.js';
import { getDb } from '../shared/db/index.js';
import { indexSessionUpload, type IndexUploadDeps } from '../shared/sessions/indexSessionUpload.js';
import { parseStagingBlobName, STAGING_BLOB_TRIGGER_PATH } from '../shared/sessions/sessionBlob.js';
import { settleStaleUploads } from '../shared/sessions/staleUploads.js';
import { getBlobServiceClient } from '../shared/storage/clients.js';
import { SESSIONS_CONTAINER, UPLOADS_CONTAINER } from '../shared/storage/layout.js';

function indexerDeps(context: InvocationContext): IndexUploadDeps {
  const config = getConfig();
  const service = getBlobServiceClient();
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
 * version (shared/sessions/indexSessionUpload.ts).
 *
 * Event Grid source: the Flex Consumption plan does not poll containers; infra/ subscribes the function to the
 * account's BlobCreated events in `uploads` (https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger).
 * Locally the host fires it by container scan.
 *
 * The trigger's input (the blob's bytes) is deliberately unused: the indexer streams the blob itself with the SDK,
 * so that its own memory stays flat. KNOWN LIMIT: the Functions host still reads the whole triggering blob to hand
 * it to the worker, so a multi-GB upload costs that much memory (and time) in the trigger path before this handler
 * runs; see README, Sessions.
 */
app.storageBlob('indexSessionUpload', {
  path: STAGING_BLOB_TRIGGER_PATH,
  connection: 'AzureWebJobsStorage',
  source: 'EventGrid',
  handler: async (_content: unknown, context: InvocationContext) => {
    const name = String(context.triggerMetadata?.name ?? '');
    // Whatever this throws fails the invocation, and the host retries it (then poisons the blob after 5 tries).
    const indexed = await indexSessionUpload(indexerDeps(context), name);
    const sessionId = parseStagingBlobName(name)?.sessionId;
    if (sessionId && (indexed.outcome === 'ready' || indexed.outcome === 'invalid')) {
      await advanceA2pTasksOf({ sessionId }, (message) => context.warn(message));
    }
  },
});

/**
 * Every 15 minutes, sessions stuck in `processing` for an hour are settled (shared/sessions/staleUploads.ts): an
 * upload that never completed becomes `invalid`, one whose trigger never ran (or whose indexing died) is indexed;
 * A2P tasks follow.
 */
app.timer('settleStaleSessionUploads', {
  schedule: '0 */15 * * * *',
  handler: async (_timer, context) => {
    const settled = await settleStaleUploads(indexerDeps(context));
    for (const { sessionId } of settled) await advanceA2pTasksOf({ sessionId }, (message) => context.warn(message));
    context.log(`Settled ${settled.length} stale session upload(s): ${JSON.stringify(settled)}`);
  },
});
