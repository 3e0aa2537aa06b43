import type { BlobServiceClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import type { CostCheckDeps } from '../billing/costPermission.js';
import type { RateLimitBucket } from '../auth/rateLimitBuckets.js';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import type { ToolLogger } from './toolResults.js';

/**
 * Everything the tools of one MCP request act with. The server is built per HTTP request (stateless), so the
 * caller's identity is simply part of it: every tool sees the key that sent this request, and no other.
 */
export interface McpRequestContext {
  db: Kysely<Database>;
  blobs: BlobServiceClient;
  /** The `example-jobs` queue, for the job of a new example. */
  exampleJobs: QueueClient;
  /** The `dataset-builds` queue, for the build of a new dataset. */
  datasetBuilds: QueueClient;
  auth: AuthContext;
  config: Config;
  /** The origin the API answers on (`http://127.0.0.1:7071`), for links back to its REST endpoints. */
  apiBaseUrl: string;
  /** The function invocation id, shown with internal errors as over REST. */
  requestId: string;
  /**
   * Counts this call once more against a per-key bucket besides the `default` one the HTTP request counted in
   * (creating a session is limited to 10 a minute, by MCP as by REST); over the limit it throws `rate_limited`.
   */
  countAgainst(bucket: RateLimitBucket): Promise<void>;
  /** What the tools that create paid work check the caller against (shared/billing/costPermission.ts). */
  costCheck: CostCheckDeps;
  /** Now: what the usage tool's "this month" is reckoned from. */
  clock(): Date;
  log: ToolLogger;
}
