import type { LintReport } from '../trainingFormats/lint/lintReport.js';
import type { DatasetRow } from './datasetRepository.js';
import type { DatasetFileName, DatasetResponse } from './datasetSchemas.js';

/** A dataset as the REST API (and its webhook events, MCP tools and A2P artifacts) shows it. */
const iso = (value: Date | null) => value?.toISOString() ?? null;

export function toDatasetResponse(row: DatasetRow): DatasetResponse {
  const ready = row.status === 'ready';
  const file = (name: DatasetFileName, count: number | null, bytes: number | null, sha256: string | null) => ({
    name,
    example_count: count ?? 0,
    size_bytes: bytes ?? 0,
    sha256: sha256 ?? '',
    url: `/v1/datasets/${row.id}/files/${name}`,
  });
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    format: row.format,
    filters: {
      suite_id: row.suite_id,
      session_ids: row.session_ids,
      model_id: row.model_id,
      created_after: iso(row.created_after),
      created_before: iso(row.created_before),
    },
    validation_split: row.validation_split,
    seed: row.seed,
    dedupe: row.dedupe,
    counts: ready
      ? {
          matched: row.matched_count ?? 0,
          duplicates: row.duplicate_count ?? 0,
          skipped: row.skipped_count ?? 0,
          train: row.train_count ?? 0,
          validation: row.validation_count ?? 0,
        }
      : null,
    files: ready
      ? {
          train: file('train.jsonl', row.train_count, row.train_bytes, row.train_sha256),
          validation: file('validation.jsonl', row.validation_count, row.validation_bytes, row.validation_sha256),
        }
      : null,
    lint: (row.lint as unknown as LintReport | null) ?? null,
    error: row.error,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    completed_at: iso(row.completed_at),
  };
}
