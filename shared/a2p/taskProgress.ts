import { Artifact, Part, TaskState, TaskStatus } from '@a2a-js/sdk';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import type { Config } from '../config.js';
import type { Database, JsonObject, JsonValue, SessionValidationError } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { dispatchJob } from '../examples/exampleJobs.js';
import { createMessagesDownloadUrl } from '../examples/exampleMessages.js';
import { findExampleById } from '../examples/exampleRepository.js';
import { createExample, MESSAGES_FILE } from '../examples/exampleService.js';
import { readMessagesInline } from '../mcp/inlineMessages.js';
import { findSessionOutcome } from '../sessions/sessionRepository.js';
import { describeErrorPosition } from '../traces/traceSummary.js';
import { A2P_LIMITS } from './a2pLimits.js';
import { SKILL_IDS } from './agentCard.js';
import { dataPart, taskStatus } from './agentMessages.js';
import { datasetFileLinkPart, datasetStep } from './datasetTaskProgress.js';
import { unlessSaid, type Step } from './taskStep.js';
import {
  findOpenTasksOf,
  OPEN_STATES,
  updateTaskAtRevision,
  type TaskLink,
  type TaskRow,
} from './taskRepository.js';

/*
 * A process-trace task follows its session, then its example:
 *   session processing -> WORKING ("indexing"); invalid -> REJECTED (with the first problems);
 *   session ready -> the example is created (once: its Idempotency-Key is the task id) -> WORKING ("generating");
 *   example COMPLETED -> COMPLETED with messages.jsonl as the artifact; FAILED -> FAILED with the pipeline's error.
 * Nothing runs in the background for this: the task advances wherever its inputs change (the indexer and the
 * pipelines hand-off call advanceTasksOf*) and whenever it is read (the task store refreshes it), so a missed call
 * costs nothing but a moment. Writes are conditional on the row's revision, so concurrent advancers cannot
 * interleave; the loser re-reads. A terminal task (CANCELED included) is never advanced.
 */

export interface TaskProgressDeps {
  db: Kysely<Database>;
  blobs: BlobServiceClient;
  exampleJobs: QueueClient;
  /** The `dataset-builds` queue, for the build of a build-dataset task's dataset. */
  datasetBuilds: QueueClient;
  config: Config;
  /** Now: what the usage skill's "this month" is reckoned from. */
  clock(): Date;
  log: (message: string) => void;
}

/** What the task's metadata holds about the request (the executor writes it, see processTraceSkill.ts). */
interface TraceTaskMetadata {
  skill?: string;
  dataset_id?: string;
  session_id?: string;
  example_id?: string;
  model_id?: string;
  model_configuration?: JsonObject;
  action_tool_map_id?: string;
}

const EXAMPLE_KEY_PREFIX = 'a2p-task:';
const MAX_REPORTED_PROBLEMS = 5;
const MESSAGES_ARTIFACT_ID = 'training-messages';

export async function refreshTask(
  deps: TaskProgressDeps,
  row: TaskRow,
  options: { signLinks?: boolean } = {},
): Promise<TaskRow> {
  const current = (OPEN_STATES as readonly string[]).includes(row.state) ? await advanceTask(deps, row) : row;
  const signLinks = options.signLinks ?? true;
  return signLinks && current.state === 'TASK_STATE_COMPLETED' ? withFreshDownloadLinks(deps, current) : current;
}

export async function advanceTasksOf(deps: TaskProgressDeps, link: TaskLink) {
  for (const row of await findOpenTasksOf(deps.db, link)) await advanceTask(deps, row);
}

async function advanceTask(deps: TaskProgressDeps, row: TaskRow): Promise<TaskRow> {
  let current = row;
  // A step may lead to another (ready session -> example created -> maybe already done); a few rounds at most.
  for (let round = 0; round < 3; round++) {
    const step = await nextStep(deps, current);
    if (!step) return current;
    const written = await writeStep(deps, current, step);
    if (!written) {
      // Someone else wrote meanwhile: their row is as fresh as ours would have been.
      const reread = await deps.db.selectFrom('a2p_tasks').selectAll().where('id', '=', row.id).executeTakeFirst();
      return reread ?? current;
    }
    current = written;
    if (!(OPEN_STATES as readonly string[]).includes(current.state)) return current;
  }
  return current;
}

async function nextStep(deps: TaskProgressDeps, row: TaskRow): Promise<Step | undefined> {
  const metadata = (row.metadata ?? {}) as TraceTaskMetadata;
  // Read off the metadata, not the column: a deleted dataset sets the column to null, and the task must say so.
  if (metadata.skill === SKILL_IDS.buildDataset && typeof metadata.dataset_id === 'string') {
    return datasetStep(deps, row, metadata.dataset_id);
  }
  if (!row.session_id) return undefined;
  if (!row.example_id) {
    const session = await findSessionOutcome(deps.db, row.session_id);
    if (!session) return { state: 'TASK_STATE_FAILED', text: 'The session of this task no longer exists.' };
    if (session.status === 'deleted' || session.status === 'expired') {
      return { state: 'TASK_STATE_FAILED', text: `Session ${row.session_id} was ${session.status}: its trace is gone.` };
    }
    if (session.status === 'invalid') {
      return { state: 'TASK_STATE_REJECTED', text: invalidTraceText(row.session_id, session.validation_errors) };
    }
    if (session.status === 'awaiting_upload' && uploadWindowClosed(deps.config, session.created_at)) {
      return {
        state: 'TASK_STATE_REJECTED',
        text: `Session ${row.session_id} was never uploaded, and its upload URL has expired.`,
      };
    }
    if (session.status !== 'ready') {
      return unlessSaid(row, {
        state: 'TASK_STATE_WORKING',
        text:
          session.status === 'awaiting_upload'
            ? `Waiting for the upload of session ${row.session_id}'s trace.`
            : `The trace is stored as session ${row.session_id} and is being indexed.`,
      });
    }
    return createTaskExample(deps, row, metadata);
  }
  const example = await findExampleById(deps.db, row.example_id);
  if (!example) return { state: 'TASK_STATE_FAILED', text: 'The example of this task no longer exists.' };
  if (example.deleted_at) return { state: 'TASK_STATE_FAILED', text: `Example ${example.id} was deleted: its messages are gone.` };
  switch (example.status) {
    case 'PENDING':
    case 'PROCESSING':
      return unlessSaid(row, { state: 'TASK_STATE_WORKING', text: generatingText(example.id, example.status) });
    case 'FAILED':
      return { state: 'TASK_STATE_FAILED', text: `The pipelines service failed: ${example.error ?? 'no reason given'}.` };
    case 'COMPLETED':
      return {
        state: 'TASK_STATE_COMPLETED',
        text: `The training messages of example ${example.id} are ready.`,
        artifacts: [await messagesArtifact(deps, example)],
      };
  }
}

/** The same words for a new example and a polled one, so that a read does not rewrite what the hook wrote. */
function generatingText(exampleId: string, status: string): string {
  return `Example ${exampleId} is ${status}: the pipelines service is generating the training messages.`;
}

/** A session's upload URL is signed at its creation, for the configured time (and a minute of clock skew). */
function uploadWindowClosed(config: Config, createdAt: Date): boolean {
  return Date.now() > createdAt.getTime() + (config.sessions.uploadUrlTtlSeconds + 60) * 1000;
}

function invalidTraceText(sessionId: string, errors: SessionValidationError[]): string {
  const shown = errors.slice(0, MAX_REPORTED_PROBLEMS).map((error) => {
    const where = describeErrorPosition(error);
    return where ? `${where}: ${error.message}` : error.message;
  });
  const more = errors.length > shown.length ? ` (and more: GET /v1/sessions/${sessionId})` : '';
  return `The trace is invalid: ${shown.join('; ') || 'no events'}${more}.`;
}

/**
 * The example is created as its owner, whoever reads the task: the key's suite restriction was checked when the
 * task was accepted. The task id is the Idempotency-Key, so two instances advancing the task at once get one example.
 */
async function createTaskExample(deps: TaskProgressDeps, row: TaskRow, metadata: TraceTaskMetadata): Promise<Step> {
  const owner: AuthContext = { userId: row.user_id, apiKeyId: null, scopes: [], suiteIds: null };
  try {
    const created = await createExample(
      deps.db,
      deps.blobs,
      owner,
      {
        session_id: row.session_id as string,
        model_id: metadata.model_id ?? '',
        model_configuration: metadata.model_configuration ?? {},
        ...(metadata.action_tool_map_id ? { action_tool_map_id: metadata.action_tool_map_id } : {}),
      },
      `${EXAMPLE_KEY_PREFIX}${row.id}`,
    );
    if (created.job) await dispatchJob(deps.db, deps.exampleJobs, created.example.id, created.job, deps.log);
    return {
      state: 'TASK_STATE_WORKING',
      exampleId: created.example.id,
      text: generatingText(created.example.id, created.example.status),
    };
  } catch (error) {
    // The request was checked when accepted; a catalog change since (a model or map deleted) fails it here.
    if (error instanceof ApiError && error.status < 500) {
      return { state: 'TASK_STATE_FAILED', text: `The example could not be created: ${error.message}` };
    }
    throw error;
  }
}

async function writeStep(deps: TaskProgressDeps, row: TaskRow, step: Step): Promise<TaskRow | undefined> {
  const now = deps.clock();
  const ids = { contextId: row.context_id, taskId: row.id };
  const status = TaskStatus.toJSON(taskStatus(TaskState[step.state], ids, step.text)) as JsonObject;
  const metadata: JsonObject = { ...(row.metadata ?? {}), ...(step.exampleId ? { example_id: step.exampleId } : {}) };
  return updateTaskAtRevision(deps.db, row, {
    state: step.state,
    status_timestamp: now,
    status: JSON.stringify(status),
    artifacts: JSON.stringify(step.artifacts ?? row.artifacts),
    // As the SDK does with the messages it publishes: every status message joins the history.
    history: JSON.stringify([...row.history, status.message as JsonValue]),
    metadata: JSON.stringify(metadata),
    example_id: step.exampleId ?? row.example_id,
  });
}

type CompletedExample = NonNullable<Awaited<ReturnType<typeof findExampleById>>>;

/**
 * The training messages: inline (a file part with the bytes) up to the limit, else a file part with a download
 * link (marked so that every read signs a fresh one); and a data part that says what they are.
 */
async function messagesArtifact(deps: TaskProgressDeps, example: CompletedExample): Promise<JsonValue> {
  const inline = await readMessagesInline(deps.blobs, example.id, A2P_LIMITS.inlineArtifactBytes);
  const file: Part = inline.inline
    ? {
        content: { $case: 'raw', value: Buffer.from(inline.text, 'utf8') },
        metadata: undefined,
        filename: MESSAGES_FILE,
        mediaType: 'application/jsonl',
      }
    : await downloadLinkPart(deps, example.id);
  const summary = dataPart({
    example_id: example.id,
    session_id: example.session_id,
    size_bytes: inline.sizeBytes,
    usage:
      example.input_tokens === null || example.output_tokens === null
        ? null
        : { input_tokens: example.input_tokens, output_tokens: example.output_tokens },
    messages_url: `/v1/examples/${example.id}/messages`,
  });
  return Artifact.toJSON({
    artifactId: MESSAGES_ARTIFACT_ID,
    name: MESSAGES_FILE,
    description: 'Training messages (JSON Lines, one chat example per line) generated from the trace.',
    parts: [file, summary],
    metadata: undefined,
    extensions: [],
  }) as JsonValue;
}

async function downloadLinkPart(deps: TaskProgressDeps, exampleId: string): Promise<Part> {
  const link = await createMessagesDownloadUrl(deps.blobs, deps.config, exampleId);
  return {
    content: { $case: 'url', value: link.url },
    metadata: { signed_link_expires_at: link.expires_at, size_bytes: link.size_bytes, example_id: exampleId },
    filename: MESSAGES_FILE,
    mediaType: 'application/jsonl',
  };
}

/** A link part signed afresh (example messages, or a dataset's file); null for any other part. */
async function resignedLinkPart(deps: TaskProgressDeps, part: JsonValue): Promise<Part | null> {
  const metadata = (part as { metadata?: Record<string, unknown> } | null)?.metadata;
  if (metadata?.signed_link_expires_at === undefined) return null;
  if (typeof metadata.example_id === 'string') return downloadLinkPart(deps, metadata.example_id);
  if (typeof metadata.dataset_id === 'string' && typeof metadata.file === 'string') {
    return datasetFileLinkPart(deps, metadata.dataset_id, metadata.file);
  }
  return null;
}

/** A stored link has expired by the time it is read again: every read of a completed task signs a fresh one. */
async function withFreshDownloadLinks(deps: TaskProgressDeps, row: TaskRow): Promise<TaskRow> {
  let changed = false;
  const artifacts: JsonValue[] = [];
  for (const artifact of row.artifacts) {
    const parts = (artifact as { parts?: JsonValue[] } | null)?.parts;
    if (!Array.isArray(parts)) {
      artifacts.push(artifact);
      continue;
    }
    const fresh: JsonValue[] = [];
    for (const part of parts) {
      const signed = await resignedLinkPart(deps, part);
      if (signed) changed = true;
      fresh.push(signed ? (Part.toJSON(signed) as JsonValue) : part);
    }
    artifacts.push({ ...(artifact as JsonObject), parts: fresh });
  }
  return changed ? { ...row, artifacts } : row;
}
