import type { DatasetFormat } from '../../db/schema.js';
import type { CanonicalMessage } from '../../examples/conversationCanonicalizer.js';
import type { TrainingRecord } from '../trainingRecords.js';

/*
 * The lint report of a dataset: each provider's documented rules, checked on every example as it is written (on
 * the very object that becomes its line) and on the dataset's totals at the end. A rule cites the page it comes
 * from. Findings list how many examples break the rule and the first few of their ids, so a report stays small
 * for any dataset.
 */

export type Severity = 'error' | 'warning';

export interface LintRuleInfo {
  /** Stable id, e.g. `openai.min_examples`. */
  id: string;
  severity: Severity;
  /** What the provider asks, in one sentence. */
  summary: string;
  /** The page the rule comes from. */
  source: string;
}

export interface LintedExample {
  exampleId: string;
  messages: CanonicalMessage[];
  training: TrainingRecord;
  /** Bytes of the example's line in the file. */
  lineBytes: number;
}

export interface DatasetTotals {
  trainCount: number;
  validationCount: number;
  trainBytes: number;
  validationBytes: number;
}

export interface ExampleRule<R> extends LintRuleInfo {
  /** True when the example breaks the rule. */
  breaks(record: R, example: LintedExample): boolean;
}

export interface DatasetRule extends LintRuleInfo {
  /** A sentence about the totals when the dataset breaks the rule, else null. */
  breaks(totals: DatasetTotals): string | null;
}

export interface LintFinding {
  rule: string;
  severity: Severity;
  message: string;
  /** The provider's page; null for findings of the build itself. */
  source: string | null;
  /** Examples that break the rule (0 for rules on the dataset as a whole). */
  count: number;
  example_ids: string[];
}

export interface LintReport {
  format: DatasetFormat;
  errors: LintFinding[];
  warnings: LintFinding[];
  /** Every rule that was checked, failing or not. */
  rules_checked: string[];
}

export const MAX_LISTED_EXAMPLE_IDS = 20;

/**
 * Rough token count, for warnings only: about 4 characters of English text a token
 * (https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them). No tokenizer runs here;
 * the providers count exactly when they take the file.
 */
export function estimatedTokens(bytes: number): number {
  return Math.ceil(bytes / 4);
}

export class LintCollector<R> {
  readonly #hits = new Map<string, { count: number; ids: string[] }>();
  readonly #datasetFindings: LintFinding[] = [];

  constructor(
    private readonly format: DatasetFormat,
    private readonly exampleRules: ExampleRule<R>[],
    private readonly datasetRules: DatasetRule[],
  ) {}

  checkExample(example: LintedExample): void {
    if (example.training.format !== this.format) {
      throw new Error(`A ${example.training.format} record cannot be linted as ${this.format}.`);
    }
    // The rules of a format are written for that format's record, which the check above guarantees.
    const record = example.training.record as R;
    for (const rule of this.exampleRules) {
      if (!rule.breaks(record, example)) continue;
      const hit = this.#hits.get(rule.id) ?? { count: 0, ids: [] };
      hit.count++;
      if (hit.ids.length < MAX_LISTED_EXAMPLE_IDS) hit.ids.push(example.exampleId);
      this.#hits.set(rule.id, hit);
    }
  }

  /** A finding of the build itself (examples left out), beside the providers' rules. */
  addFinding(finding: LintFinding): void {
    this.#datasetFindings.push(finding);
  }

  report(totals: DatasetTotals): LintReport {
    const findings: LintFinding[] = [];
    for (const rule of this.exampleRules) {
      const hit = this.#hits.get(rule.id);
      if (!hit) continue;
      findings.push({
        rule: rule.id,
        severity: rule.severity,
        message: `${rule.summary} ${hit.count} example(s) do not.`,
        source: rule.source,
        count: hit.count,
        example_ids: hit.ids,
      });
    }
    for (const rule of this.datasetRules) {
      const detail = rule.breaks(totals);
      if (detail === null) continue;
      findings.push({ rule: rule.id, severity: rule.severity, message: `${rule.summary} ${detail}`, source: rule.source, count: 0, example_ids: [] });
    }
    findings.push(...this.#datasetFindings);
    return {
      format: this.format,
      errors: findings.filter((finding) => finding.severity === 'error'),
      warnings: findings.filter((finding) => finding.severity === 'warning'),
      rules_checked: [...this.exampleRules, ...this.datasetRules].map((rule) => rule.id),
    };
  }
}

/** Shared by the formats whose records have no per-message weight. */
export function weightIgnoredRule<R>(format: DatasetFormat, source: string): ExampleRule<R> {
  return {
    id: `${format}.weight_ignored`,
    severity: 'warning',
    summary:
      'This format has no per-message weight: assistant messages with weight 0 are trained on like the others ' +
      '(use the openai format to keep them as context only).',
    source,
    breaks: (_record, example) => example.messages.some((message) => message.role === 'assistant' && message.weight === 0),
  };
}

export function tokenLimitRule<R>(format: DatasetFormat, id: string, limit: number, summary: string, source: string): ExampleRule<R> {
  return {
    id: `${format}.${id}`,
    severity: 'warning',
    summary: `${summary} (${limit} tokens; estimated at 4 bytes a token).`,
    source,
    breaks: (_record, example) => estimatedTokens(example.lineBytes) > limit,
  };
}

export function minimumExamplesRule(
  format: DatasetFormat,
  id: string,
  severity: Severity,
  minimum: number,
  summary: string,
  source: string,
): DatasetRule {
  return {
    id: `${format}.${id}`,
    severity,
    summary,
    source,
    breaks: (totals) => (totals.trainCount < minimum ? `The training file has ${totals.trainCount}.` : null),
  };
}
