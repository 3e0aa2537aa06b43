import { app, type InvocationContext } from '@azure/functions';
import { advanceA2pTasksOf } from '../shared/a2p/a2pDeps.js';
import { getConfig } from '../shared/config.js';
import { getDb } from '../shared/db/index.js';
import { indexSessionBlob } from '../shared/sessions/indexSessionBlob.js';
import { settleStaleUploads } from '../shared/sessions/staleUploads.js';
import { SESSION_BLOB_TRIGGER_PATH } from '../shared/sessions/sessionBlob.js';
import { getBlobServiceClient } from '../shared/storage/clients.js';
import { SESSIONS_CONTAINER } from '../shared/storage/layout.js';

/**
 * Indexes each uploaded trace (`sessions/{sessionId}/input_events.jsonl`), once per blob version.
 *
 * Event Grid source: the Flex Consumption plan does not poll containers; infra/ subscribes the function to the
 * account's BlobCreated events (https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger).
 * Locally the host fires it by container scan.
 *
 * The trigger's input (the blob's bytes) is deliberately unused: the indexer streams the blob itself with the SDK,
 * so that its own memory stays flat. KNOWN LIMIT: the Functions host still reads the whole triggering blob to hand
 * it to the worker, so a multi-GB trace costs that much memory (and time) in the trigger path before this handler
 * runs. For traces of gigabytes, an Event Grid trigger (`app.eventGrid`, BlobCreated events carry only the URL and
 * ETag) calling the same `indexSessionBlob` avoids that; see README, Sessions.
 */
app.storageBlob('indexSessionUpload', {
  path: SESSION_BLOB_TRIGGER_PATH,
  connection: 'AzureWebJobsStorage',
  source: 'EventGrid',
  handler: async (_content: unknown, context: InvocationContext) => {
    const sessionId = String(context.triggerMetadata?.sessionId ?? '');
    // Whatever this throws fails the invocation, and the host retries it (then poisons the blob after 5 tries).
    const indexed = await indexSessionBlob(
      {
        db: getDb(),
        container: getBlobServiceClient().getContainerClient(SESSIONS_CONTAINER),
        maxBytes: getConfig().sessions.uploadMaxBytes,
        logger: context,
      },
      sessionId,
    );
    if (indexed.outcome === 'ready' || indexed.outcome === 'invalid' || indexed.outcome === 'too_large') {
      await advanceA2pTasksOf({ sessionId }, (message) => context.warn(message));
    }
  },
});

/**
 * Every 15 minutes, sessions stuck in `processing` for an hour are settled (shared/sessions/staleUploads.ts): an
 * upload that never completed becomes `invalid`, a blob whose trigger never ran is indexed; A2P tasks follow.
 */
app.timer('settleStaleSessionUploads', {
  schedule: '0 */15 * * * *',
  handler: async (_timer, context) => {
    const settled = await settleStaleUploads({
      db: getDb(),
      container: getBlobServiceClient().getContainerClient(SESSIONS_CONTAINER),
      maxBytes: getConfig().sessions.uploadMaxBytes,
      logger: context,
    });
    for (const { sessionId } of settled) await advanceA2pTasksOf({ sessionId }, (message) => context.warn(message));
    context.log(`Settled ${settled.length} stale session upload(s): ${JSON.stringify(settled)}`);
  },
});
