import type { AnthropicBlock, AnthropicRecord } from '../anthropicRecord.js';
import { minimumExamplesRule, weightIgnoredRule, type DatasetRule, type ExampleRule } from './lintReport.js';

/*
 * Anthropic's documented rules:
 * - fine-tuning on Amazon Bedrock (https://platform.claude.com/cookbook/finetuning-finetuning-on-bedrock): `system`
 *   optional; at least two messages; the first from the user, the last from the assistant; user and assistant
 *   alternate; no keys besides `system` and `messages`.
 * - tool use (https://platform.claude.com/docs/en/agents-and-tools/tool-use/handle-tool-calls): tool_result blocks
 *   immediately follow their tool_use blocks, in the next user message, and come before any text in it.
 * - tool definitions (https://platform.claude.com/docs/en/agents-and-tools/tool-use/define-tools): names match
 *   `^[a-zA-Z0-9_-]{1,64}$`.
 */

const BEDROCK = 'https://platform.claude.com/cookbook/finetuning-finetuning-on-bedrock';
const HANDLE_TOOL_CALLS = 'https://platform.claude.com/docs/en/agents-and-tools/tool-use/handle-tool-calls';
const DEFINE_TOOLS = 'https://platform.claude.com/docs/en/agents-and-tools/tool-use/define-tools';

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

type Message = AnthropicRecord['messages'][number];

const blocksOf = (message: Message | undefined): AnthropicBlock[] =>
  message === undefined ? [] : typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
const toolUseIds = (message: Message | undefined) =>
  blocksOf(message).flatMap((block) => (block.type === 'tool_use' ? [block.id] : []));
const toolResultIds = (message: Message | undefined) =>
  blocksOf(message).flatMap((block) => (block.type === 'tool_result' ? [block.tool_use_id] : []));

export const ANTHROPIC_EXAMPLE_RULES: ExampleRule<AnthropicRecord>[] = [
  {
    id: 'anthropic.roles',
    severity: 'error',
    summary: 'Every message has the role user or assistant (the system prompt is the separate `system`).',
    source: BEDROCK,
    breaks: (record) => record.messages.some((message) => message.role !== 'user' && message.role !== 'assistant'),
  },
  {
    id: 'anthropic.min_messages',
    severity: 'error',
    summary: 'An example has at least two messages.',
    source: BEDROCK,
    breaks: (record) => record.messages.length < 2,
  },
  {
    id: 'anthropic.first_message_user',
    severity: 'error',
    summary: 'The first message is from the user.',
    source: BEDROCK,
    breaks: (record) => record.messages[0]?.role !== 'user',
  },
  {
    id: 'anthropic.last_message_assistant',
    severity: 'error',
    summary: 'The last message is from the assistant.',
    source: BEDROCK,
    breaks: (record) => record.messages.at(-1)?.role !== 'assistant',
  },
  {
    id: 'anthropic.alternating_roles',
    severity: 'error',
    summary: 'User and assistant messages alternate.',
    source: BEDROCK,
    breaks: (record) => record.messages.some((message, index) => index > 0 && record.messages[index - 1]?.role === message.role),
  },
  {
    id: 'anthropic.tool_result_follows_use',
    severity: 'error',
    summary:
      'Every tool_use is answered by a tool_result in the next message (unless it is the last message), and every ' +
      'tool_result answers a tool_use of the message before it.',
    source: HANDLE_TOOL_CALLS,
    breaks: (record) =>
      record.messages.some((message, index) => {
        const used = toolUseIds(record.messages[index - 1]);
        const results = toolResultIds(message);
        if (results.length === 0 && (used.length === 0 || message.role !== 'user')) return false;
        return [...results].sort().join('\n') !== [...used].sort().join('\n');
      }),
  },
  {
    id: 'anthropic.tool_result_first',
    severity: 'error',
    summary: 'In a user message, tool_result blocks come before any text.',
    source: HANDLE_TOOL_CALLS,
    breaks: (record) =>
      record.messages.some((message) => {
        const blocks = blocksOf(message);
        const lastResult = blocks.map((block) => block.type).lastIndexOf('tool_result');
        return blocks.slice(0, Math.max(lastResult, 0)).some((block) => block.type !== 'tool_result');
      }),
  },
  {
    id: 'anthropic.tool_defined',
    severity: 'error',
    summary: 'Every tool_use names a tool of the example\'s `tools`.',
    source: DEFINE_TOOLS,
    breaks: (record) => {
      const names = new Set(record.tools.map((tool) => tool.name));
      return record.messages.some((message) => blocksOf(message).some((block) => block.type === 'tool_use' && !names.has(block.name)));
    },
  },
  {
    id: 'anthropic.tool_name_pattern',
    severity: 'error',
    summary: 'Tool names are 1-64 characters of a-z, A-Z, 0-9, _ and -.',
    source: DEFINE_TOOLS,
    breaks: (record) => record.tools.some((tool) => !TOOL_NAME.test(tool.name)),
  },
  weightIgnoredRule<AnthropicRecord>('anthropic', BEDROCK),
];

export const ANTHROPIC_DATASET_RULES: DatasetRule[] = [
  minimumExamplesRule('anthropic', 'examples_present', 'error', 1, 'A fine-tuning job needs training examples.', BEDROCK),
  {
    id: 'anthropic.bedrock_keys',
    severity: 'warning',
    summary:
      'Amazon Bedrock\'s Claude fine-tuning takes no keys besides `system` and `messages`: drop `tools` (and the ' +
      'tool blocks) for Bedrock; trainers of Anthropic\'s Messages format with tools take them as they are.',
    source: BEDROCK,
    breaks: (totals) => (totals.trainCount + totals.validationCount > 0 ? 'Every line has `tools`.' : null),
  },
];
