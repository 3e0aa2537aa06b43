import { randomUUID } from 'node:crypto';
import { Role, type Message, type Part } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, type CallInterceptor, type Client } from '@a2a-js/sdk/client';
import { inject } from 'vitest';
import type { TestUser } from './users.js';

function withApiKey(key: string): CallInterceptor {
  return {
    async before(args) {
      args.options = { ...args.options, serviceParameters: { ...args.options?.serviceParameters, 'X-API-Key': key } };
    },
    async after() {},
  };
}

/** The A2A SDK's own client for the test API, sending the user's key with every call. */
export async function a2aClientFor(user: TestUser): Promise<Client> {
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { clientConfig: { interceptors: [withApiKey(user.key)] } }),
  );
  return factory.createFromUrl(inject('apiUrl'));
}

export function part(content: Part['content'], filename = '', mediaType = ''): Part {
  return { content, metadata: undefined, filename, mediaType };
}

export const dataPart = (value: unknown) => part({ $case: 'data', value });

/** A trace sent inline, as a raw file part named as the recorder names it. */
export const traceFilePart = (trace: string) =>
  part({ $case: 'raw', value: Buffer.from(trace) }, 'input_events.jsonl', 'application/jsonl');

/** A user's message of these parts; in a task (and its context) when given. */
export function userMessage(parts: Part[], ids: { taskId?: string; contextId?: string } = {}): Message {
  return {
    messageId: randomUUID(),
    contextId: ids.contextId ?? '',
    taskId: ids.taskId ?? '',
    role: Role.ROLE_USER,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}
