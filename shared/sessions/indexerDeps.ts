import { getConfig } from '../config.js';
import { getDb } from '../db/index.js';
import { getBlobServiceClient } from '../storage/storageAccess.js';
import { SESSIONS_CONTAINER, UPLOADS_CONTAINER } from '../storage/layout.js';
import type { IndexerLogger, IndexUploadDeps } from './indexSessionUpload.js';

/** What the indexer runs on, for the queue trigger and the settle timer alike. */
export async function indexerDeps(logger: IndexerLogger): Promise<IndexUploadDeps> {
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
    logger,
  };
}
