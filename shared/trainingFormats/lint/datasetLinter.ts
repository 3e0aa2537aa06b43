import type { DatasetFormat } from '../../db/schema.js';
import type { AnthropicRecord } from '../anthropicRecord.js';
import type { OpenAiRecord } from '../openAiRecord.js';
import type { TrlRecord } from '../trlRecord.js';
import type { VertexRecord } from '../vertexRecord.js';
import { ANTHROPIC_DATASET_RULES, ANTHROPIC_EXAMPLE_RULES } from './anthropicRules.js';
import { LintCollector, type DatasetTotals, type LintedExample, type LintFinding, type LintReport } from './lintReport.js';
import { OPENAI_DATASET_RULES, OPENAI_EXAMPLE_RULES } from './openAiRules.js';
import { TRL_DATASET_RULES, TRL_EXAMPLE_RULES } from './trlRules.js';
import { VERTEX_DATASET_RULES, VERTEX_EXAMPLE_RULES } from './vertexRules.js';

export interface DatasetLinter {
  checkExample(example: LintedExample): void;
  addFinding(finding: LintFinding): void;
  report(totals: DatasetTotals): LintReport;
}

/** The linter of a target format: that provider's documented rules (see its *Rules.ts). */
export function createDatasetLinter(format: DatasetFormat): DatasetLinter {
  switch (format) {
    case 'openai':
      return new LintCollector<OpenAiRecord>(format, OPENAI_EXAMPLE_RULES, OPENAI_DATASET_RULES);
    case 'vertex':
      return new LintCollector<VertexRecord>(format, VERTEX_EXAMPLE_RULES, VERTEX_DATASET_RULES);
    case 'anthropic':
      return new LintCollector<AnthropicRecord>(format, ANTHROPIC_EXAMPLE_RULES, ANTHROPIC_DATASET_RULES);
    case 'trl':
      return new LintCollector<TrlRecord>(format, TRL_EXAMPLE_RULES, TRL_DATASET_RULES);
  }
}
