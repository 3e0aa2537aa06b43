import type { ToolWithParameters } from '../catalog/mcpToolsFormat.js';
import type { DatasetFormat } from '../db/schema.js';
import type { CanonicalMessage } from '../examples/conversationCanonicalizer.js';
import { toAnthropicRecord, type AnthropicRecord } from './anthropicRecord.js';
import { toOpenAiRecord, type OpenAiRecord } from './openAiRecord.js';
import { toTrlRecord, type TrlRecord } from './trlRecord.js';
import { toVertexRecord, type VertexRecord } from './vertexRecord.js';

/** One example as one line of a provider's fine-tuning file. */
export type TrainingRecord =
  | { format: 'openai'; record: OpenAiRecord }
  | { format: 'vertex'; record: VertexRecord }
  | { format: 'anthropic'; record: AnthropicRecord }
  | { format: 'trl'; record: TrlRecord };

export function toTrainingRecord(
  format: DatasetFormat,
  messages: CanonicalMessage[],
  tools: ToolWithParameters[],
): TrainingRecord {
  switch (format) {
    case 'openai':
      return { format, record: toOpenAiRecord(messages, tools) };
    case 'vertex':
      return { format, record: toVertexRecord(messages, tools) };
    case 'anthropic':
      return { format, record: toAnthropicRecord(messages, tools) };
    case 'trl':
      return { format, record: toTrlRecord(messages, tools) };
  }
}

/** The record as its line in a JSONL file, newline included. */
export function trainingLine(training: TrainingRecord): string {
  return `${JSON.stringify(training.record)}\n`;
}
