import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import pg from 'pg';
import { expect, inject } from 'vitest';
import { GITHUB_ACTION_TOOL_MAP_ID, GITHUB_SUITE_ID, GMAIL_ACTION_TOOL_MAP_ID, GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { GPT_4O } from './examples.js';
import { callApi } from './http.js';
import { createSessionRow } from './sessions.js';
import type { TestUser } from './users.js';

const MAP_OF_SUITE: Record<string, string> = {
  [GMAIL_SUITE_ID]: GMAIL_ACTION_TOOL_MAP_ID,
  [GITHUB_SUITE_ID]: GITHUB_ACTION_TOOL_MAP_ID,
};

/** A Gmail conversation numbered `n`: a request, an archive call, its result and an answer. */
export function gmailConversation(n: number, options: { callId?: string; spacing?: string } = {}): unknown[] {
  const id = options.callId ?? 'call_1';
  const space = options.spacing ?? ' ';
  return [
    { role: 'system', content: 'You operate Gmail through tools.' },
    { role: 'user', content: `Archive${space}email number ${n}.` },
    { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'archive_email', arguments: `{"message_id":"m${n}"}` } }] },
    { role: 'tool', tool_call_id: id, content: 'archived' },
    { role: 'assistant', content: `Email ${n} is archived.` },
  ];
}

export const jsonl = (messages: unknown[]) => messages.map((message) => JSON.stringify(message)).join('\n') + '\n';

/**
 * A COMPLETED example of the user's, written as it stands after the pipelines' report but straight to the
 * database and Blob, without a conversation digest: as an example completed before datasets existed, which a
 * build digests first. (The API path is covered by the examples tests and `completeViaApi`.)
 */
export async function addStoredExample(user: TestUser, messages: unknown[], suiteId = GMAIL_SUITE_ID): Promise<string> {
  const sessionId = await createSessionRow(user.userId, suiteId);
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  const id = randomUUID();
  try {
    await client.query(
      `insert into examples (id, user_id, session_id, suite_id, model_id, action_tool_map_id, storage_path, status,
         input_tokens, output_tokens, completed_at)
       values ($1, $2, $3, $4, $5, $6, $7, 'COMPLETED', 1, 1, now())`,
      [id, user.userId, sessionId, suiteId, GPT_4O, MAP_OF_SUITE[suiteId], `examples/${id}/`],
    );
  } finally {
    await client.end();
  }
  const text = jsonl(messages);
  const blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
  await blobs.getContainerClient('examples').getBlockBlobClient(`${id}/messages.jsonl`).upload(text, Buffer.byteLength(text));
  return id;
}

export interface DatasetBody {
  id: string;
  status: 'building' | 'ready' | 'failed';
  error: string | null;
  counts: { matched: number; duplicates: number; skipped: number; train: number; validation: number } | null;
  files: Record<'train' | 'validation', { name: string; example_count: number; size_bytes: number; sha256: string; url: string }> | null;
  lint: {
    format: string;
    errors: Array<{ rule: string; count: number; example_ids: string[]; source: string | null }>;
    warnings: Array<{ rule: string; count: number; example_ids: string[]; source: string | null }>;
    rules_checked: string[];
  } | null;
}

/** Polls the dataset until it is no longer building. */
export async function waitForDataset(key: string, id: string, timeoutMs = 60_000): Promise<DatasetBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await callApi(`/v1/datasets/${id}`, { key });
    expect(response.status).toBe(200);
    const dataset = response.json as DatasetBody;
    if (dataset.status !== 'building') return dataset;
    if (Date.now() > deadline) throw new Error(`dataset ${id} still building after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Creates a dataset through the API (202) and waits for its build. */
export async function buildDatasetViaApi(key: string, body: Record<string, unknown>): Promise<DatasetBody> {
  const created = await callApi('/v1/datasets', { method: 'POST', key, body });
  expect(created.status, created.text).toBe(202);
  const dataset = created.json as DatasetBody;
  expect(dataset.status).toBe('building');
  expect(created.headers.get('location')).toBe(`/v1/datasets/${dataset.id}`);
  return waitForDataset(key, dataset.id);
}
