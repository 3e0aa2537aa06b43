import { Task, TaskState, taskStateToJSON, type ListTasksRequest, type ListTasksResponse } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';
import type { Kysely } from 'kysely';
import { A2P_TASK_STATES, type A2pTaskState, type Database, type JsonObject, type JsonValue } from '../db/schema.js';
import { holdsScope } from '../auth/scopes.js';
import { callerOf } from './a2pCaller.js';
import { SKILL_IDS, SKILL_SCOPES } from './agentCard.js';
import { findUserTask, isUuid, listUserTasks, taskJson, upsertTask, type TaskRow, type TaskWrite } from './taskRepository.js';

/** Brings a task up to date with what it follows (its session and example) as it is read; see taskProgress.ts. */
export type TaskRefresher = (row: TaskRow, options?: { signLinks?: boolean }) => Promise<TaskRow>;

export const DEFAULT_TASK_PAGE_SIZE = 50;

/**
 * The A2A SDK's TaskStore on our own table (migrations/0006) rather than the SDK's database store: our rows belong
 * to a user (foreign key) and link the session and example the task follows, which the SDK's free-text owner
 * column cannot. Tasks are scoped by the caller (A2pCaller): another user's task loads as undefined, which the
 * SDK answers as "task not found". Payloads are the SDK's own JSON (Task.toJSON / Task.fromJSON).
 */
export class PostgresTaskStore implements TaskStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly refresh: TaskRefresher,
  ) {}

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const { userId } = callerOf(context);
    await upsertTask(this.db, toTaskWrite(task, userId));
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    if (!seesTasks(context)) return undefined;
    const row = await findUserTask(this.db, callerOf(context).userId, taskId);
    return row ? taskFromRow(await this.refresh(row)) : undefined;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const pageSize = params.pageSize ?? DEFAULT_TASK_PAGE_SIZE;
    if (!seesTasks(context)) return { tasks: [], nextPageToken: '', pageSize, totalSize: 0 };
    const { rows, total } = await listUserTasks(this.db, {
      userId: callerOf(context).userId,
      ...(params.contextId ? { contextId: params.contextId } : {}),
      ...(params.status ? { state: taskStateToJSON(params.status) as A2pTaskState } : {}),
      ...(params.statusTimestampAfter ? { statusAfter: new Date(params.statusTimestampAfter) } : {}),
      ...(params.pageToken ? { after: decodePageToken(params.pageToken) } : {}),
      limit: pageSize + 1,
    });
    const page = rows.slice(0, pageSize);
    const tasks: Task[] = [];
    for (const row of page) {
      // Without artifacts asked for, their download links are not signed either.
      const task = taskFromRow(await this.refresh(row, { signLinks: params.includeArtifacts === true }));
      if (!params.includeArtifacts) task.artifacts = [];
      tasks.push(task);
    }
    const last = page.at(-1);
    return {
      tasks,
      nextPageToken: rows.length > pageSize && last ? encodePageToken(last) : '',
      pageSize,
      totalSize: total,
    };
  }
}

/**
 * Tasks are process-trace's, and so the `api` scope's data (SKILL_SCOPES): to a key without it they do not exist,
 * as another user's do not (a pipeline key's GetTask is "task not found", its ListTasks empty).
 */
function seesTasks(context: ServerCallContext): boolean {
  return holdsScope(callerOf(context).scopes, SKILL_SCOPES[SKILL_IDS.processTrace]);
}

export function taskFromRow(row: TaskRow): Task {
  return Task.fromJSON(taskJson(row));
}

/** The row for a task; what it follows (session, example, dataset) is read off its metadata, where the executor put it. */
export function toTaskWrite(task: Task, userId: string): TaskWrite {
  const wire = Task.toJSON(task) as JsonObject;
  const metadata = (task.metadata ?? null) as JsonObject | null;
  const state = taskStateToJSON(task.status?.state ?? TaskState.TASK_STATE_SUBMITTED);
  if (!(A2P_TASK_STATES as readonly string[]).includes(state)) {
    throw new Error(`A task cannot be stored in state ${state}.`);
  }
  const timestamp = task.status?.timestamp ? new Date(task.status.timestamp) : new Date();
  return {
    id: task.id,
    user_id: userId,
    context_id: task.contextId,
    state: state as A2pTaskState,
    status_timestamp: Number.isNaN(timestamp.getTime()) ? new Date() : timestamp,
    status: JSON.stringify(wire.status ?? { state }),
    artifacts: JSON.stringify(wire.artifacts ?? []),
    history: JSON.stringify(withoutFileBytes((wire.history ?? []) as JsonValue[])),
    metadata: metadata === null ? null : JSON.stringify(metadata),
    session_id: isUuid(metadata?.session_id) ? metadata.session_id : null,
    example_id: isUuid(metadata?.example_id) ? metadata.example_id : null,
    dataset_id: isUuid(metadata?.dataset_id) ? metadata.dataset_id : null,
  };
}

/**
 * History keeps what was said, not the trace files sent inline: those are stored once, as the task's session, and
 * a task's history is read back on every GetTask. A file part becomes a text part that says what it was.
 */
function withoutFileBytes(history: JsonValue[]): JsonValue[] {
  return history.map((message) => {
    if (!isObject(message) || !Array.isArray(message.parts)) return message;
    return {
      ...message,
      parts: message.parts.map((part) => {
        if (!isObject(part) || typeof part.raw !== 'string') return part;
        const { raw, ...rest } = part;
        const bytes = Math.floor((raw.length * 3) / 4) - (raw.endsWith('==') ? 2 : raw.endsWith('=') ? 1 : 0);
        const name = typeof part.filename === 'string' && part.filename ? `"${part.filename}" ` : '';
        return {
          ...rest,
          text: `[file ${name}of ${bytes} bytes, not kept in the task history]`,
          metadata: { ...(isObject(part.metadata) ? part.metadata : {}), omitted_file_bytes: bytes },
        };
      }),
    };
  });
}

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function encodePageToken(row: TaskRow): string {
  return Buffer.from(`${row.status_timestamp.toISOString()}|${row.id}`).toString('base64url');
}

function decodePageToken(token: string): { statusTimestamp: Date; id: string } {
  const [time, id] = Buffer.from(token, 'base64url').toString('utf8').split('|');
  const statusTimestamp = new Date(time ?? '');
  if (!isUuid(id) || Number.isNaN(statusTimestamp.getTime())) {
    throw new RequestMalformedError('pageToken is not a token this server issued.');
  }
  return { statusTimestamp, id };
}
