import type { InvocationDeps } from '../runtime/appDeps.js';
import { SESSIONS_CONTAINER, UPLOADS_CONTAINER } from '../storage/layout.js';
import type { IndexUploadDeps } from './indexSessionUpload.js';

/** What the indexer runs on, for the queue trigger and the settle timer alike. */
export async function indexerDeps(deps: InvocationDeps): Promise<IndexUploadDeps> {
  const { config } = deps;
  const service = await deps.storage.blobs();
  return {
    db: deps.db,
    uploads: service.getContainerClient(UPLOADS_CONTAINER),
    sessions: service.getContainerClient(SESSIONS_CONTAINER),
    maxBytes: {
      url: config.sessions.uploadMaxBytes,
      multipart: config.sessions.multipartMaxBytes,
      inline: config.sessions.multipartMaxBytes,
    },
    logger: deps.logger,
  };
}
