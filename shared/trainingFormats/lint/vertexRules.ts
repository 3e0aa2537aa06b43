import type { VertexRecord } from '../vertexRecord.js';
import {
  minimumExamplesRule,
  tokenLimitRule,
  weightIgnoredRule,
  type DatasetRule,
  type ExampleRule,
} from './lintReport.js';

/*
 * Vertex AI's documented rules for a Gemini supervised tuning dataset:
 * - the line format: https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare
 *   (start with 100 examples)
 * - the limits: https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning (131,072
 *   training tokens an example, at most 5,000 validation examples, a 1 GB JSONL training file, 1M text examples)
 * - the minimum: https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-about (16)
 * - tools: https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune-function-calling, and how Gemini takes
 *   function calls in a conversation (a function response turn follows the model turn that called, one response
 *   a call): https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/function-calling
 * - roles: https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/Content ("user" or "model")
 * - Schema: an ARRAY needs `items` (https://ai.google.dev/api/caching#Schema); at most 64 function declarations
 *   a tool (https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/Tool)
 */

const PREPARE = 'https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare';
const LIMITS = 'https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning';
const MINIMUM = 'https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-about';
const TUNE_TOOLS = 'https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune-function-calling';
const FUNCTION_CALLING = 'https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/function-calling';
const CONTENT = 'https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/Content';
const SCHEMA = 'https://ai.google.dev/api/caching#Schema';
const TOOL = 'https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/Tool';

const MAX_TRAINING_FILE_BYTES = 1024 * 1024 * 1024;

type Content = VertexRecord['contents'][number];

const callNames = (content: Content | undefined) =>
  (content?.parts ?? []).flatMap((part) => ('functionCall' in part ? [part.functionCall.name] : []));
const responseNames = (content: Content) =>
  content.parts.flatMap((part) => ('functionResponse' in part ? [part.functionResponse.name] : []));

export const VERTEX_EXAMPLE_RULES: ExampleRule<VertexRecord>[] = [
  {
    id: 'vertex.roles',
    severity: 'error',
    summary: 'Every content has the role "user" or "model".',
    source: CONTENT,
    breaks: (record) => record.contents.some((content) => content.role !== 'user' && content.role !== 'model'),
  },
  {
    id: 'vertex.first_content_user',
    severity: 'error',
    summary: 'The conversation starts with a user content.',
    source: FUNCTION_CALLING,
    breaks: (record) => record.contents[0]?.role !== 'user',
  },
  {
    id: 'vertex.alternating_roles',
    severity: 'error',
    summary: 'User and model contents alternate.',
    source: FUNCTION_CALLING,
    breaks: (record) => record.contents.some((content, index) => index > 0 && record.contents[index - 1]?.role === content.role),
  },
  {
    id: 'vertex.model_content',
    severity: 'error',
    summary: 'Every example has a model content (the output the model is tuned to give).',
    source: PREPARE,
    breaks: (record) => !record.contents.some((content) => content.role === 'model'),
  },
  {
    id: 'vertex.last_content_model',
    severity: 'warning',
    summary: 'The example ends with a model content (a trailing user content is not learned from).',
    source: PREPARE,
    breaks: (record) => record.contents.at(-1)?.role !== 'model',
  },
  {
    id: 'vertex.function_responses_match_calls',
    severity: 'error',
    summary:
      'A content with function responses follows the model content that made the calls, with one response for each ' +
      'call, and every call but those of the last content is answered.',
    source: FUNCTION_CALLING,
    breaks: (record) =>
      record.contents.some((content, index) => {
        const previousCalls = callNames(record.contents[index - 1]);
        const responses = responseNames(content);
        if (responses.length > 0 || (content.role === 'user' && previousCalls.length > 0)) {
          return [...responses].sort().join('\n') !== [...previousCalls].sort().join('\n');
        }
        return false;
      }),
  },
  {
    id: 'vertex.function_declared',
    severity: 'error',
    summary: 'Every function call names one of the example\'s function declarations.',
    source: TUNE_TOOLS,
    breaks: (record) => {
      const declared = new Set(record.tools.flatMap((tool) => tool.functionDeclarations.map((declaration) => declaration.name)));
      return record.contents.some((content) => callNames(content).some((name) => !declared.has(name)));
    },
  },
  {
    id: 'vertex.function_args_object',
    severity: 'error',
    summary: 'Every function call\'s args are a JSON object.',
    source: TUNE_TOOLS,
    breaks: (record) =>
      record.contents.some((content) =>
        content.parts.some((part) => {
          if (!('functionCall' in part)) return false;
          const args: unknown = part.functionCall.args;
          return typeof args !== 'object' || args === null || Array.isArray(args);
        }),
      ),
  },
  {
    id: 'vertex.array_items_assumed',
    severity: 'warning',
    summary:
      'Gemini needs the element type of an ARRAY parameter, which the catalog does not record: such parameters are ' +
      'declared as arrays of strings.',
    source: SCHEMA,
    breaks: (record) =>
      record.tools.some((tool) =>
        tool.functionDeclarations.some((declaration) =>
          Object.values(declaration.parameters.properties).some((property) => property.type === 'ARRAY'),
        ),
      ),
  },
  {
    id: 'vertex.max_function_declarations',
    severity: 'warning',
    summary: 'A tool holds at most 64 function declarations.',
    source: TOOL,
    breaks: (record) => record.tools.some((tool) => tool.functionDeclarations.length > 64),
  },
  weightIgnoredRule<VertexRecord>('vertex', PREPARE),
  tokenLimitRule('vertex', 'example_tokens', 131_072, 'An example fits the training tokens of Gemini 2.5 tuning', LIMITS),
];

export const VERTEX_DATASET_RULES: DatasetRule[] = [
  minimumExamplesRule('vertex', 'min_examples', 'error', 16, 'A training dataset must include at least 16 examples.', MINIMUM),
  minimumExamplesRule('vertex', 'recommended_examples', 'warning', 100, 'Vertex AI recommends starting with 100 examples.', PREPARE),
  {
    id: 'vertex.max_validation_examples',
    severity: 'error',
    summary: 'A validation dataset has at most 5,000 examples.',
    source: LIMITS,
    breaks: (totals) => (totals.validationCount > 5000 ? `The validation file has ${totals.validationCount}.` : null),
  },
  {
    id: 'vertex.max_training_examples',
    severity: 'error',
    summary: 'A training dataset has at most 1,000,000 text examples.',
    source: LIMITS,
    breaks: (totals) => (totals.trainCount > 1_000_000 ? `The training file has ${totals.trainCount}.` : null),
  },
  {
    id: 'vertex.file_size',
    severity: 'error',
    summary: 'A JSONL training file is at most 1 GB.',
    source: LIMITS,
    breaks: (totals) => (totals.trainBytes > MAX_TRAINING_FILE_BYTES ? `The training file is ${totals.trainBytes} bytes.` : null),
  },
];
