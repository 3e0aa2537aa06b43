import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ToolWithParameters } from '../../shared/catalog/mcpToolsFormat.js';
import type { DatasetFormat } from '../../shared/db/schema.js';
import type { CanonicalMessage } from '../../shared/examples/conversationCanonicalizer.js';
import { ANTHROPIC_DATASET_RULES, ANTHROPIC_EXAMPLE_RULES } from '../../shared/trainingFormats/lint/anthropicRules.js';
import { createDatasetLinter } from '../../shared/trainingFormats/lint/datasetLinter.js';
import type { DatasetTotals } from '../../shared/trainingFormats/lint/lintReport.js';
import { OPENAI_DATASET_RULES, OPENAI_EXAMPLE_RULES } from '../../shared/trainingFormats/lint/openAiRules.js';
import { TRL_DATASET_RULES, TRL_EXAMPLE_RULES } from '../../shared/trainingFormats/lint/trlRules.js';
import { VERTEX_DATASET_RULES, VERTEX_EXAMPLE_RULES } from '../../shared/trainingFormats/lint/vertexRules.js';
import { toTrainingRecord, trainingLine, type TrainingRecord } from '../../shared/trainingFormats/trainingRecords.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';

/*
 * Every provider rule of the linter, each with a passing case (a well-formed conversation, from the golden
 * fixture) and a failing one (that conversation broken in the one way the rule is about).
 */

const TOOLS: ToolWithParameters[] = ['add_label', 'archive_email', 'search_emails'].map((name) => ({
  name,
  description: `The ${name} tool.`,
  parameters: [{ name: 'message_id', type: 'STRING', required: false, description: null }],
}));

const GOLDEN: CanonicalMessage[] = readFileSync(join(PROJECT_ROOT, 'test/fixtures/training-formats/canonical-messages.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as CanonicalMessage);
/** The golden conversation without its weight 0, which formats without weights warn about. */
const BASE: CanonicalMessage[] = GOLDEN.map((message) => {
  if (message.role !== 'assistant') return message;
  const { weight: _weight, ...rest } = message;
  return rest;
});

const BIG: DatasetTotals = { trainCount: 1000, validationCount: 100, trainBytes: 1e6, validationBytes: 1e5 };

interface Case {
  messages: CanonicalMessage[];
  training: TrainingRecord;
  lineBytes?: number;
}

function baseCase(format: DatasetFormat, messages = BASE, tools = TOOLS): Case {
  return { messages, training: toTrainingRecord(format, messages, tools) };
}

/** The ids of the rules an example breaks. */
function brokenRules(example: Case): string[] {
  const linter = createDatasetLinter(example.training.format);
  linter.checkExample({
    exampleId: '00000000-0000-4000-8000-000000000001',
    messages: example.messages,
    training: example.training,
    lineBytes: example.lineBytes ?? Buffer.byteLength(trainingLine(example.training)),
  });
  const report = linter.report(BIG);
  return [...report.errors, ...report.warnings].filter((finding) => finding.count > 0).map((finding) => finding.rule);
}

function datasetFindings(format: DatasetFormat, totals: DatasetTotals): string[] {
  const report = createDatasetLinter(format).report(totals);
  return [...report.errors, ...report.warnings].map((finding) => finding.rule);
}

/** A copy of the case's record, changed by `change`. */
function broken<R>(format: DatasetFormat, change: (record: R) => void, messages = BASE): Case {
  const example = baseCase(format, messages);
  const record = structuredClone(example.training.record) as R;
  change(record);
  return { ...example, training: { format, record } as TrainingRecord };
}

const withWeightZero = (format: DatasetFormat) => baseCase(format, GOLDEN);

// any: the tests edit the records freely, in ways their types forbid, to break them.
type Json = Record<string, any>;

const EXAMPLE_CASES: Record<DatasetFormat, Array<[string, () => Case]>> = {
  openai: [
    ['openai.roles', () => broken<Json>('openai', (r) => r.messages.splice(1, 0, { role: 'robot', content: 'beep' }))],
    ['openai.assistant_message', () => broken<Json>('openai', (r) => (r.messages = r.messages.slice(0, 2)))],
    ['openai.weight_values', () => broken<Json>('openai', (r) => (r.messages[1].weight = 1))],
    [
      'openai.trained_assistant_message',
      () => broken<Json>('openai', (r) => r.messages.forEach((m: Json) => m.role === 'assistant' && (m.weight = 0))),
    ],
    ['openai.last_message_assistant', () => broken<Json>('openai', (r) => r.messages.push({ role: 'user', content: 'thanks' }))],
    ['openai.tool_arguments_json', () => broken<Json>('openai', (r) => (r.messages[2].tool_calls[0].function.arguments = '[1]'))],
    ['openai.tool_defined', () => broken<Json>('openai', (r) => (r.tools = r.tools.slice(1)))],
    ['openai.tool_result_follows_call', () => broken<Json>('openai', (r) => r.messages.splice(3, 0, { role: 'user', content: 'wait' }))],
    ['openai.tool_calls_answered', () => broken<Json>('openai', (r) => r.messages.splice(3, 1, { role: 'user', content: 'never mind' }))],
    ['openai.max_tools', () => broken<Json>('openai', (r) => (r.tools = Array.from({ length: 129 }, () => r.tools[0])))],
    ['openai.example_tokens', () => ({ ...baseCase('openai'), lineBytes: 4 * 65_536 + 4 })],
  ],
  vertex: [
    ['vertex.roles', () => broken<Json>('vertex', (r) => (r.contents[1].role = 'assistant'))],
    ['vertex.first_content_user', () => broken<Json>('vertex', (r) => r.contents.shift())],
    ['vertex.alternating_roles', () => broken<Json>('vertex', (r) => r.contents.unshift(r.contents[0]))],
    ['vertex.model_content', () => broken<Json>('vertex', (r) => (r.contents = r.contents.slice(0, 1)))],
    ['vertex.last_content_model', () => broken<Json>('vertex', (r) => r.contents.push({ role: 'user', parts: [{ text: 'thanks' }] }))],
    ['vertex.function_responses_match_calls', () => broken<Json>('vertex', (r) => r.contents[4].parts.pop())],
    ['vertex.function_declared', () => broken<Json>('vertex', (r) => (r.contents[1].parts[0].functionCall.name = 'undeclared'))],
    ['vertex.function_args_object', () => broken<Json>('vertex', (r) => (r.contents[1].parts[0].functionCall.args = [1]))],
    [
      'vertex.array_items_assumed',
      () => baseCase('vertex', BASE, [{ name: 'add_label', description: null, parameters: [{ name: 'labels', type: 'ARRAY', required: true, description: null }] }, ...TOOLS.slice(1)]),
    ],
    [
      'vertex.max_function_declarations',
      () => broken<Json>('vertex', (r) => r.tools[0].functionDeclarations.push(...Array.from({ length: 62 }, () => r.tools[0].functionDeclarations[0]))),
    ],
    ['vertex.weight_ignored', () => withWeightZero('vertex')],
    ['vertex.example_tokens', () => ({ ...baseCase('vertex'), lineBytes: 4 * 131_072 + 4 })],
  ],
  anthropic: [
    ['anthropic.roles', () => broken<Json>('anthropic', (r) => (r.messages[0].role = 'system'))],
    ['anthropic.min_messages', () => broken<Json>('anthropic', (r) => (r.messages = r.messages.slice(0, 1)))],
    ['anthropic.first_message_user', () => broken<Json>('anthropic', (r) => r.messages.shift())],
    ['anthropic.last_message_assistant', () => broken<Json>('anthropic', (r) => r.messages.push({ role: 'user', content: 'thanks' }))],
    ['anthropic.alternating_roles', () => broken<Json>('anthropic', (r) => r.messages.unshift(r.messages[0]))],
    ['anthropic.tool_result_follows_use', () => broken<Json>('anthropic', (r) => (r.messages[2].content[0].tool_use_id = 'someone_else'))],
    ['anthropic.tool_result_first', () => broken<Json>('anthropic', (r) => r.messages[4].content.unshift({ type: 'text', text: 'results:' }))],
    ['anthropic.tool_defined', () => broken<Json>('anthropic', (r) => (r.tools = r.tools.slice(1)))],
    ['anthropic.tool_name_pattern', () => broken<Json>('anthropic', (r) => r.tools.push({ ...r.tools[0], name: 'has spaces' }))],
    ['anthropic.weight_ignored', () => withWeightZero('anthropic')],
  ],
  trl: [
    ['trl.roles', () => broken<Json>('trl', (r) => r.messages.splice(1, 0, { role: 'robot', content: 'beep' }))],
    ['trl.tools_column', () => broken<Json>('trl', (r) => (r.tools = []))],
    ['trl.tool_defined', () => broken<Json>('trl', (r) => (r.tools = r.tools.slice(1)))],
    ['trl.arguments_object', () => broken<Json>('trl', (r) => (r.messages[2].tool_calls[0].function.arguments = '{"a":1}'))],
    ['trl.tool_message_name', () => broken<Json>('trl', (r) => (r.messages[3].name = ''))],
    ['trl.assistant_message', () => broken<Json>('trl', (r) => (r.messages = r.messages.slice(0, 2)))],
    ['trl.weight_ignored', () => withWeightZero('trl')],
    ['trl.max_length', () => ({ ...baseCase('trl'), lineBytes: 4 * 1024 + 4 })],
  ],
};

const EXAMPLE_RULE_IDS: Record<DatasetFormat, string[]> = {
  openai: OPENAI_EXAMPLE_RULES.map((rule) => rule.id),
  vertex: VERTEX_EXAMPLE_RULES.map((rule) => rule.id),
  anthropic: ANTHROPIC_EXAMPLE_RULES.map((rule) => rule.id),
  trl: TRL_EXAMPLE_RULES.map((rule) => rule.id),
};

describe.each(Object.keys(EXAMPLE_CASES) as DatasetFormat[])('the %s example rules', (format) => {
  it('have a failing case for every rule', () => {
    expect(EXAMPLE_CASES[format].map(([rule]) => rule).sort()).toEqual([...EXAMPLE_RULE_IDS[format]].sort());
  });

  it('pass the well-formed conversation', () => {
    expect(brokenRules(baseCase(format))).toEqual([]);
  });

  it.each(EXAMPLE_CASES[format])('fail %s on the conversation broken for it', (rule, make) => {
    expect(brokenRules(make())).toContain(rule);
  });
});

const totals = (change: Partial<DatasetTotals>): DatasetTotals => ({ ...BIG, ...change });
const GB = 1024 * 1024 * 1024;

const DATASET_CASES: Record<DatasetFormat, Array<[string, DatasetTotals, DatasetTotals]>> = {
  openai: [
    ['openai.min_examples', totals({ trainCount: 10 }), totals({ trainCount: 9 })],
    ['openai.recommended_examples', totals({ trainCount: 50 }), totals({ trainCount: 49 })],
    ['openai.file_size', totals({ trainBytes: 512 * 1024 * 1024 }), totals({ validationBytes: 512 * 1024 * 1024 + 1 })],
  ],
  vertex: [
    ['vertex.min_examples', totals({ trainCount: 16 }), totals({ trainCount: 15 })],
    ['vertex.recommended_examples', totals({ trainCount: 100 }), totals({ trainCount: 99 })],
    ['vertex.max_validation_examples', totals({ validationCount: 5000 }), totals({ validationCount: 5001 })],
    ['vertex.max_training_examples', totals({ trainCount: 1_000_000 }), totals({ trainCount: 1_000_001 })],
    ['vertex.file_size', totals({ trainBytes: GB }), totals({ trainBytes: GB + 1 })],
  ],
  anthropic: [
    ['anthropic.examples_present', totals({ trainCount: 1 }), totals({ trainCount: 0 })],
    ['anthropic.bedrock_keys', totals({ trainCount: 0, validationCount: 0 }), totals({ trainCount: 1 })],
  ],
  trl: [['trl.examples_present', totals({ trainCount: 1 }), totals({ trainCount: 0 })]],
};

const DATASET_RULE_IDS: Record<DatasetFormat, string[]> = {
  openai: OPENAI_DATASET_RULES.map((rule) => rule.id),
  vertex: VERTEX_DATASET_RULES.map((rule) => rule.id),
  anthropic: ANTHROPIC_DATASET_RULES.map((rule) => rule.id),
  trl: TRL_DATASET_RULES.map((rule) => rule.id),
};

describe.each(Object.keys(DATASET_CASES) as DatasetFormat[])('the %s dataset rules', (format) => {
  it('have a case for every rule', () => {
    expect(DATASET_CASES[format].map(([rule]) => rule).sort()).toEqual([...DATASET_RULE_IDS[format]].sort());
  });

  it.each(DATASET_CASES[format])('%s: passes the first totals, fails the second', (rule, passing, failing) => {
    expect(datasetFindings(format, passing)).not.toContain(rule);
    expect(datasetFindings(format, failing)).toContain(rule);
  });
});

describe('the lint report', () => {
  it('counts every example that breaks a rule but lists the first 20 ids, with the rule\'s source', () => {
    const linter = createDatasetLinter('openai');
    const example = baseCase('openai', BASE.slice(0, 2));
    for (let i = 0; i < 25; i++) {
      linter.checkExample({ exampleId: `id-${i}`, messages: example.messages, training: example.training, lineBytes: 100 });
    }
    const finding = linter.report(BIG).errors.find((entry) => entry.rule === 'openai.assistant_message');
    expect(finding).toMatchObject({ count: 25, source: expect.stringMatching(/^https:\/\//), message: expect.stringContaining('25 example(s)') });
    expect(finding?.example_ids).toEqual(Array.from({ length: 20 }, (_, i) => `id-${i}`));
  });

  it('refuses a record of another format', () => {
    const example = baseCase('vertex');
    expect(() => createDatasetLinter('openai').checkExample({ exampleId: 'x', ...example, lineBytes: 1 })).toThrow(/cannot be linted/);
  });
});
