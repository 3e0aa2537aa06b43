import type { OpenAiRecord } from '../openAiRecord.js';
import { minimumExamplesRule, tokenLimitRule, type DatasetRule, type ExampleRule } from './lintReport.js';

/*
 * OpenAI's documented rules for a supervised fine-tuning file:
 * - guide: https://platform.openai.com/docs/guides/supervised-fine-tuning (at least 10 examples, 50 recommended;
 *   weights 0 or 1 on assistant messages; the per-example token limit of the models, 65,536 for gpt-4o-mini)
 * - the line format: https://platform.openai.com/docs/api-reference/fine-tuning/chat-input
 * - the checks OpenAI's own data-preparation notebook makes: https://cookbook.openai.com/examples/chat_finetuning_data_prep
 * - tool messages and calls as the Chat Completions API takes them (at most 128 tools; a tool message answers a
 *   preceding assistant message's tool_calls): https://platform.openai.com/docs/api-reference/chat/create
 * - file size: https://platform.openai.com/docs/api-reference/files/create (512 MB through the Files API)
 */

const GUIDE = 'https://platform.openai.com/docs/guides/supervised-fine-tuning';
const CHAT_INPUT = 'https://platform.openai.com/docs/api-reference/fine-tuning/chat-input';
const DATA_PREP = 'https://cookbook.openai.com/examples/chat_finetuning_data_prep';
const CHAT_API = 'https://platform.openai.com/docs/api-reference/chat/create';
const FILES_API = 'https://platform.openai.com/docs/api-reference/files/create';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);
const FILES_API_MAX_BYTES = 512 * 1024 * 1024;

type Message = OpenAiRecord['messages'][number];

function isJsonObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** Calls each tool message answers, in order: false where a tool message answers no open call of the turn. */
function toolMessagesAnswer(messages: Message[]): { orphanResult: boolean; unansweredBeforeNext: boolean } {
  let open = new Set<string>();
  let orphanResult = false;
  let unansweredBeforeNext = false;
  for (const message of messages) {
    if (message.role === 'tool') {
      if (!open.delete(message.tool_call_id)) orphanResult = true;
      continue;
    }
    if (open.size > 0) unansweredBeforeNext = true;
    open = new Set(message.role === 'assistant' ? (message.tool_calls ?? []).map((call) => call.id) : []);
  }
  return { orphanResult, unansweredBeforeNext };
}

export const OPENAI_EXAMPLE_RULES: ExampleRule<OpenAiRecord>[] = [
  {
    id: 'openai.roles',
    severity: 'error',
    summary: 'Every message has the role system, developer, user, assistant or tool.',
    source: DATA_PREP,
    breaks: (record) => record.messages.some((message) => !ROLES.has(message.role)),
  },
  {
    id: 'openai.assistant_message',
    severity: 'error',
    summary: 'Every example has at least one assistant message (the examples the model learns from).',
    source: DATA_PREP,
    breaks: (record) => !record.messages.some((message) => message.role === 'assistant'),
  },
  {
    id: 'openai.weight_values',
    severity: 'error',
    summary: 'A weight is 0 or 1, and only on assistant messages.',
    source: GUIDE,
    breaks: (record) =>
      record.messages.some((message) => {
        const weight = (message as { weight?: unknown }).weight;
        return weight !== undefined && (message.role !== 'assistant' || (weight !== 0 && weight !== 1));
      }),
  },
  {
    id: 'openai.trained_assistant_message',
    severity: 'warning',
    summary: 'Some assistant message of the example has weight 1 (with weight 0 everywhere it teaches nothing).',
    source: GUIDE,
    breaks: (record) =>
      record.messages.some((message) => message.role === 'assistant') &&
      record.messages.every((message) => message.role !== 'assistant' || message.weight === 0),
  },
  {
    id: 'openai.last_message_assistant',
    severity: 'warning',
    summary: 'The example ends with an assistant message (what follows the last one is not trained on).',
    source: GUIDE,
    breaks: (record) => record.messages.at(-1)?.role !== 'assistant',
  },
  {
    id: 'openai.tool_arguments_json',
    severity: 'error',
    summary: 'Every tool call\'s arguments are a JSON object, as a string.',
    source: CHAT_INPUT,
    breaks: (record) =>
      record.messages.some(
        (message) =>
          message.role === 'assistant' &&
          (message.tool_calls ?? []).some((call) => typeof call.function.arguments !== 'string' || !isJsonObjectText(call.function.arguments)),
      ),
  },
  {
    id: 'openai.tool_defined',
    severity: 'error',
    summary: 'Every tool call names a function of the example\'s `tools`.',
    source: CHAT_INPUT,
    breaks: (record) => {
      const names = new Set(record.tools.map((tool) => tool.function.name));
      return record.messages.some(
        (message) => message.role === 'assistant' && (message.tool_calls ?? []).some((call) => !names.has(call.function.name)),
      );
    },
  },
  {
    id: 'openai.tool_result_follows_call',
    severity: 'error',
    summary: 'Every tool message answers a call of the assistant message just before it (only tool messages between).',
    source: CHAT_API,
    breaks: (record) => toolMessagesAnswer(record.messages).orphanResult,
  },
  {
    id: 'openai.tool_calls_answered',
    severity: 'warning',
    summary: 'Every tool call is answered by a tool message before the conversation goes on (the last message may be a call).',
    source: CHAT_API,
    breaks: (record) => toolMessagesAnswer(record.messages).unansweredBeforeNext,
  },
  {
    id: 'openai.max_tools',
    severity: 'error',
    summary: 'An example offers at most 128 tools.',
    source: CHAT_API,
    breaks: (record) => record.tools.length > 128,
  },
  tokenLimitRule('openai', 'example_tokens', 65_536, 'An example fits the training context of gpt-4o-mini and gpt-4o', GUIDE),
];

export const OPENAI_DATASET_RULES: DatasetRule[] = [
  minimumExamplesRule('openai', 'min_examples', 'error', 10, 'A fine-tuning job needs at least 10 training examples.', GUIDE),
  minimumExamplesRule('openai', 'recommended_examples', 'warning', 50, 'OpenAI recommends starting with 50 well-crafted examples.', GUIDE),
  {
    id: 'openai.file_size',
    severity: 'warning',
    summary: 'The Files API takes files up to 512 MB; larger ones go through the Uploads API.',
    source: FILES_API,
    breaks: (totals) =>
      totals.trainBytes > FILES_API_MAX_BYTES || totals.validationBytes > FILES_API_MAX_BYTES
        ? `The files are ${totals.trainBytes} and ${totals.validationBytes} bytes.`
        : null,
  },
];
