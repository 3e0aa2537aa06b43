import { expect } from 'vitest';
import { GMAIL_SUITE_ID, SEED_MODEL_IDS } from '../../shared/seed/catalog.js';
import { callApi } from './http.js';
import { createSessionRow } from './sessions.js';
import type { TestUser } from './users.js';

export const GPT_4O = SEED_MODEL_IDS['openai/gpt-4o'] as string;

/** A valid messages.jsonl's lines: what the pipelines service writes for an example (one tool call). */
export const TRAINING_MESSAGES = [
  { role: 'system', content: 'You operate Gmail through tools.' },
  { role: 'user', content: 'Archive the newsletter.' },
  {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'archive_email', arguments: '{"message_id":"m1"}' } }],
  },
];

export interface CreatedExample {
  id: string;
  status: string;
  session_id: string;
  suite_id: string;
  action_tool_map_id: string;
  usage: { input_tokens: number; output_tokens: number; total_tokens: number } | null;
  error: string | null;
}

/** An example of the user's, PENDING, on a ready session made for it, requested through the API. */
export async function createExampleViaApi(user: TestUser, suiteId = GMAIL_SUITE_ID): Promise<CreatedExample> {
  const sessionId = await createSessionRow(user.userId, suiteId);
  const response = await callApi('/v1/examples', { method: 'POST', key: user.key, body: { session_id: sessionId, model_id: GPT_4O } });
  expect(response.status).toBe(201);
  return response.json as CreatedExample;
}
