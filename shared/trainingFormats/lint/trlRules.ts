import type { TrlRecord } from '../trlRecord.js';
import { minimumExamplesRule, tokenLimitRule, weightIgnoredRule, type DatasetRule, type ExampleRule } from './lintReport.js';

/*
 * Hugging Face TRL's documented rules for SFT on conversational data with tool calling:
 * - https://huggingface.co/docs/trl/dataset_formats#tool-calling: a `tools` column beside `messages` when the
 *   conversations call tools; calls as `{ type: "function", function: { name, arguments: {...} } }`; tool results
 *   as `{ role: "tool", name, content }`.
 * - https://huggingface.co/docs/trl/sft_trainer: conversational datasets get the chat template; the loss can be on
 *   assistant turns only (assistant_only_loss); `max_length` defaults to 1024 tokens and longer sequences are
 *   truncated.
 */

const FORMATS = 'https://huggingface.co/docs/trl/dataset_formats#tool-calling';
const SFT = 'https://huggingface.co/docs/trl/sft_trainer';

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

type Message = TrlRecord['messages'][number];
const callsOf = (message: Message) => (message.role === 'assistant' ? (message.tool_calls ?? []) : []);

export const TRL_EXAMPLE_RULES: ExampleRule<TrlRecord>[] = [
  {
    id: 'trl.roles',
    severity: 'error',
    summary: 'Every message has the role system, user, assistant or tool.',
    source: FORMATS,
    breaks: (record) => record.messages.some((message) => !ROLES.has(message.role)),
  },
  {
    id: 'trl.tools_column',
    severity: 'error',
    summary: 'An example whose messages call tools has a `tools` list describing them.',
    source: FORMATS,
    breaks: (record) => record.tools.length === 0 && record.messages.some((message) => callsOf(message).length > 0),
  },
  {
    id: 'trl.tool_defined',
    severity: 'error',
    summary: 'Every tool call names a function of the example\'s `tools`.',
    source: FORMATS,
    breaks: (record) => {
      const names = new Set(record.tools.map((tool) => tool.function.name));
      return record.messages.some((message) => callsOf(message).some((call) => !names.has(call.function.name)));
    },
  },
  {
    id: 'trl.arguments_object',
    severity: 'error',
    summary: 'Every tool call\'s arguments are an object (chat templates read them as a dict).',
    source: FORMATS,
    breaks: (record) =>
      record.messages.some((message) =>
        callsOf(message).some((call) => {
          const args: unknown = call.function.arguments;
          return typeof args !== 'object' || args === null || Array.isArray(args);
        }),
      ),
  },
  {
    id: 'trl.tool_message_name',
    severity: 'error',
    summary: 'Every tool message names the tool it answers for.',
    source: FORMATS,
    breaks: (record) => record.messages.some((message) => message.role === 'tool' && message.name === ''),
  },
  {
    id: 'trl.assistant_message',
    severity: 'warning',
    summary: 'Every example has an assistant message (with assistant_only_loss, the only part trained on).',
    source: SFT,
    breaks: (record) => !record.messages.some((message) => message.role === 'assistant'),
  },
  weightIgnoredRule<TrlRecord>('trl', SFT),
  tokenLimitRule('trl', 'max_length', 1024, 'An example fits SFTConfig\'s default max_length, beyond which it is truncated', SFT),
];

export const TRL_DATASET_RULES: DatasetRule[] = [
  minimumExamplesRule('trl', 'examples_present', 'error', 1, 'A training run needs training examples.', SFT),
];
