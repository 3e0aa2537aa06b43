import { randomUUID } from 'node:crypto';
import { Role, TaskState, type Message, type Part, type TaskStatus } from '@a2a-js/sdk';

/** Small builders for what the agent says; the SDK's types want every field, empty ones included. */

export function textPart(text: string): Part {
  return { content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' };
}

export function dataPart(data: unknown): Part {
  return { content: { $case: 'data', value: data }, metadata: undefined, filename: '', mediaType: 'application/json' };
}

export function agentMessage(ids: { contextId: string; taskId?: string }, parts: Part[]): Message {
  return {
    messageId: randomUUID(),
    contextId: ids.contextId,
    taskId: ids.taskId ?? '',
    role: Role.ROLE_AGENT,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

export function taskStatus(state: TaskState, ids: { contextId: string; taskId: string }, text: string): TaskStatus {
  return { state, message: agentMessage(ids, [textPart(text)]), timestamp: new Date().toISOString() };
}
