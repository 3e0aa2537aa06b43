import { createHash, randomUUID } from 'node:crypto';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import { constraintViolationOf } from '../db/constraintViolation.js';
import type { Database, JsonObject } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page } from '../validation/pagination.js';
import { EXAMPLES_CONTAINER, SESSIONS_CONTAINER } from '../storage/layout.js';
import { screenshotsManifestBlobName, sessionBlobName } from '../sessions/sessionBlob.js';
import { findVisibleSession } from '../sessions/sessionRepository.js';
import type { ExampleJob } from './exampleJobs.js';
import {
  findByIdempotencyKey,
  findMapsOfSuite,
  findModel,
  findVisibleExample,
  insertExampleWithJob,
  listVisibleExamples,
  type ExampleRow,
} from './exampleRepository.js';
import type { CreateExampleBody, ExampleListInput, ExampleResponse } from './exampleSchemas.js';

export const MESSAGES_FILE = 'messages.jsonl';
/** Idempotency keys are the client's; they are bounded like Stripe's. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export function messagesBlobName(exampleId: string): string {
  return `${exampleId}/${MESSAGES_FILE}`;
}

export function toExampleResponse(row: ExampleRow): ExampleResponse {
  const usage =
    row.input_tokens === null || row.output_tokens === null
      ? null
      : {
          input_tokens: row.input_tokens,
          output_tokens: row.output_tokens,
          total_tokens: row.input_tokens + row.output_tokens,
        };
  return {
    id: row.id,
    session_id: row.session_id,
    suite_id: row.suite_id,
    model_id: row.model_id,
    action_tool_map_id: row.action_tool_map_id,
    model_configuration: row.model_configuration,
    storage_path: row.storage_path,
    status: row.status,
    error: row.error,
    usage,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    completed_at: row.completed_at?.toISOString() ?? null,
    deleted_at: row.deleted_at?.toISOString() ?? null,
  };
}

function fieldError(field: string, message: string): ApiError {
  return ApiError.validation(message, { fields: [{ location: 'body', field, message }] });
}

export interface CreatedExample {
  example: ExampleResponse;
  job: ExampleJob | null;
  /** The response of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

function replay(existing: ExampleRow, fingerprint: string): CreatedExample {
  if (existing.idempotency_fingerprint !== fingerprint) {
    throw ApiError.conflict('This Idempotency-Key was used with a different request.', {
      reason: 'idempotency_key_reused',
    });
  }
  return { example: toExampleResponse(existing), job: null, replayed: true };
}

/**
 * Validates the request (the session is the caller's and ready; the model exists; the map is given and of the
 * session's suite, or is the suite's only one), then writes the example and its job's outbox row in one
 * transaction. The caller sends the job after commit (dispatchJob).
 */
export async function createExample(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  auth: AuthContext,
  body: CreateExampleBody,
  idempotencyKey: string | null,
): Promise<CreatedExample> {
  if (idempotencyKey !== null && (idempotencyKey === '' || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
    throw ApiError.badRequest(`Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters.`);
  }
  const fingerprint = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  if (idempotencyKey) {
    const existing = await findByIdempotencyKey(db, auth.userId, idempotencyKey);
    if (existing) return replay(existing, fingerprint);
  }

  const session = await findVisibleSession(db, auth, body.session_id);
  if (!session) throw ApiError.notFound('No such session.');
  if (session.status !== 'ready') {
    throw ApiError.conflict(`The session is ${session.status}; examples need a ready session.`, {
      session_status: session.status,
    });
  }
  const { model, mapId } = await resolveModelAndMap(db, session.suite_id, body.model_id, body.action_tool_map_id);

  const id = randomUUID();
  const input = { container: SESSIONS_CONTAINER, name: sessionBlobName(session.id) };
  const screenshots = session.screenshot_count
    ? { container: SESSIONS_CONTAINER, name: screenshotsManifestBlobName(session.id) }
    : null;
  const output = { container: EXAMPLES_CONTAINER, name: messagesBlobName(id) };
  const urlOf = (blob: { container: string; name: string }) => blobs.getContainerClient(blob.container).getBlobClient(blob.name).url;
  const job: ExampleJob = {
    example_id: id,
    session_id: session.id,
    user_id: auth.userId,
    suite_id: session.suite_id,
    model: { id: model.id, provider: model.provider, name: model.name },
    model_configuration: body.model_configuration as JsonObject,
    action_tool_map_id: mapId,
    input_blob: { ...input, url: urlOf(input) },
    input_format: session.format ?? 'recorder-jsonl',
    screenshots_blob: screenshots ? { ...screenshots, url: urlOf(screenshots) } : null,
    output_blob: { ...output, url: urlOf(output) },
  };
  try {
    const row = await db.transaction().execute((trx) =>
      insertExampleWithJob(
        trx,
        {
          id,
          user_id: auth.userId,
          session_id: session.id,
          suite_id: session.suite_id,
          model_id: model.id,
          action_tool_map_id: mapId,
          model_configuration: JSON.stringify(body.model_configuration),
          storage_path: `${EXAMPLES_CONTAINER}/${id}/`,
          idempotency_key: idempotencyKey,
          idempotency_fingerprint: idempotencyKey ? fingerprint : null,
        },
        job,
      ),
    );
    return { example: toExampleResponse(row), job, replayed: false };
  } catch (error) {
    // Two requests with one Idempotency-Key at once: the loser answers with the winner's example.
    if (idempotencyKey && constraintViolationOf(error)?.kind === 'unique') {
      const existing = await findByIdempotencyKey(db, auth.userId, idempotencyKey);
      if (existing) return replay(existing, fingerprint);
    }
    throw error;
  }
}

/**
 * The model and the action-tool map an example of `suiteId` would use: the model must exist; the map must be of
 * the suite, or, when none is named, the suite's only one. 422 naming the field otherwise.
 */
export async function resolveModelAndMap(
  db: Kysely<Database>,
  suiteId: string,
  modelId: string,
  actionToolMapId: string | undefined,
) {
  const model = await findModel(db, modelId);
  if (!model) throw fieldError('model_id', 'No such model.');
  const maps = await findMapsOfSuite(db, suiteId, actionToolMapId);
  if (actionToolMapId && maps.length === 0) {
    throw fieldError('action_tool_map_id', "No such action-tool map for the session's suite.");
  }
  if (!actionToolMapId && maps.length !== 1) {
    throw fieldError(
      'action_tool_map_id',
      maps.length === 0
        ? "The session's suite has no action-tool map; create one first."
        : "The session's suite has several action-tool maps; name one.",
    );
  }
  return { model, mapId: maps[0] as string };
}

export async function listExamples(
  db: Kysely<Database>,
  auth: AuthContext,
  filters: ExampleListInput,
): Promise<Page<ExampleResponse>> {
  const { rows, total } = await listVisibleExamples(db, auth, filters);
  return toPage(rows.map(toExampleResponse), total, filters);
}

export async function getExample(db: Kysely<Database>, auth: AuthContext, id: string): Promise<ExampleRow> {
  const row = await findVisibleExample(db, auth, id);
  if (!row) throw ApiError.notFound('No such example.');
  return row;
}

/** The example, which must be COMPLETED for its messages to be read. */
export async function getCompletedExample(db: Kysely<Database>, auth: AuthContext, id: string): Promise<ExampleRow> {
  const row = await getExample(db, auth, id);
  if (row.deleted_at) {
    throw ApiError.conflict('The example was deleted; its messages are gone.', { status: row.status, deleted_at: row.deleted_at.toISOString() });
  }
  if (row.status !== 'COMPLETED') {
    throw ApiError.conflict(`The example is ${row.status}; its messages exist once it is COMPLETED.`, {
      status: row.status,
    });
  }
  return row;
}
