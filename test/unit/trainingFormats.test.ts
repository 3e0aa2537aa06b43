import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ToolWithParameters } from '../../shared/catalog/mcpToolsFormat.js';
import { DATASET_FORMATS } from '../../shared/db/schema.js';
import type { CanonicalMessage } from '../../shared/examples/conversationCanonicalizer.js';
import { checkTrainingMessages } from '../../shared/examples/trainingMessages.js';
import { toTrainingRecord, trainingLine } from '../../shared/trainingFormats/trainingRecords.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';

/*
 * Golden files (test/fixtures/training-formats/), written by hand from each provider's documented format: a
 * system prompt, a user request, a call, a text with two parallel calls (weight 0), their results, one more call,
 * and a text answer. The pipelines' simplified form goes in; each format's line must be the golden object.
 */

const fixture = (name: string) => readFileSync(join(PROJECT_ROOT, 'test/fixtures/training-formats', name), 'utf8');

const GOLDEN_TOOLS: ToolWithParameters[] = [
  {
    name: 'add_label',
    description: null,
    parameters: [
      { name: 'message_id', type: 'STRING', required: true, description: 'Id of the message.' },
      { name: 'labels', type: 'ARRAY', required: true, description: 'Labels to add.' },
    ],
  },
  {
    name: 'archive_email',
    description: 'Archive a message.',
    parameters: [{ name: 'message_id', type: 'STRING', required: true, description: 'Id of the message.' }],
  },
  {
    name: 'search_emails',
    description: 'Search the mailbox.',
    parameters: [
      { name: 'query', type: 'STRING', required: true, description: 'Gmail search query.' },
      { name: 'max_results', type: 'NUMBER', required: false, description: null },
    ],
  },
];

async function canonicalOf(jsonl: string): Promise<{ messages: CanonicalMessage[]; text: string }> {
  const messages: CanonicalMessage[] = [];
  let text = '';
  const check = await checkTrainingMessages([jsonl], {
    toolNames: new Set(GOLDEN_TOOLS.map((tool) => tool.name)),
    onMessage: (message) => messages.push(message),
    onCanonicalLine: (line) => (text += line),
  });
  expect(check.errors).toEqual([]);
  return { messages, text };
}

describe('the pipelines\' simplified form', () => {
  it('round-trips to the canonical file, byte for byte', async () => {
    const { text } = await canonicalOf(fixture('pipeline-messages.jsonl'));
    expect(text).toBe(fixture('canonical-messages.jsonl'));
    const again = await canonicalOf(text);
    expect(again.text).toBe(text);
  });
});

describe.each(DATASET_FORMATS)('the %s format', (format) => {
  it('turns the conversation into the golden line, with the map\'s tools', async () => {
    const { messages } = await canonicalOf(fixture('pipeline-messages.jsonl'));
    const line = trainingLine(toTrainingRecord(format, messages, GOLDEN_TOOLS));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual(JSON.parse(fixture(`${format}.json`)));
  });
});

describe('regrouping turns (anthropic, vertex)', () => {
  const messages: CanonicalMessage[] = [
    { role: 'user', content: 'one' },
    { role: 'system', content: 'late rules' },
    { role: 'user', content: 'two' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'archive_email', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'a', content: 'ok' },
    { role: 'user', content: 'and then?' },
    { role: 'assistant', content: 'That was all.' },
  ];

  it('hoists every system message, merges consecutive user texts and puts tool results before the text of their turn', () => {
    const anthropic = toTrainingRecord('anthropic', [{ role: 'system', content: 'rules' }, ...messages], GOLDEN_TOOLS).record;
    expect(anthropic).toMatchObject({
      system: 'rules\n\nlate rules',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'a', name: 'archive_email', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: 'ok' }, { type: 'text', text: 'and then?' }] },
        { role: 'assistant', content: 'That was all.' },
      ],
    });
    const vertex = toTrainingRecord('vertex', messages, GOLDEN_TOOLS).record;
    expect(vertex).toMatchObject({
      systemInstruction: { parts: [{ text: 'late rules' }] },
      contents: [
        { role: 'user', parts: [{ text: 'one' }, { text: 'two' }] },
        { role: 'model', parts: [{ functionCall: { name: 'archive_email', args: {} } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'archive_email', response: { output: 'ok' } } }, { text: 'and then?' }] },
        { role: 'model', parts: [{ text: 'That was all.' }] },
      ],
    });
  });

  it('leaves out the system fields when there is no system message', () => {
    expect(toTrainingRecord('anthropic', messages.slice(0, 1), GOLDEN_TOOLS).record).not.toHaveProperty('system');
    expect(toTrainingRecord('vertex', messages.slice(0, 1), GOLDEN_TOOLS).record).not.toHaveProperty('systemInstruction');
  });
});
