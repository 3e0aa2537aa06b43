/** `tracepipe datasets create|get|download`. */
import type { Schemas } from '../../../clients/typescript/src/index.js';
import { resolveModelId, resolveSuiteId, unwrap } from '../api.js';
import { CliError } from '../cliError.js';
import type { CommandContext } from '../context.js';
import { downloadTo } from '../download.js';
import { interruptible } from '../interrupt.js';
import { formatBytes, printFields, printResult } from '../output.js';
import { pollUntil } from '../waitFor.js';

type Dataset = Schemas['Dataset'];
export const DATASET_FORMATS = ['openai', 'vertex', 'anthropic', 'trl'] as const;

function printDataset(ctx: CommandContext, dataset: Dataset) {
  const files = dataset.files;
  printFields(ctx.out, [
    ['dataset', dataset.id],
    ['name', dataset.name],
    ['status', dataset.status],
    ['format', dataset.format],
    ['examples', dataset.counts ? `${dataset.counts.train} train, ${dataset.counts.validation} validation (${dataset.counts.matched} matched, ${dataset.counts.duplicates} duplicates, ${dataset.counts.skipped} skipped)` : null],
    ['train.jsonl', files ? `${formatBytes(files.train.size_bytes)}, sha256 ${files.train.sha256}` : null],
    ['validation.jsonl', files ? `${formatBytes(files.validation.size_bytes)}, sha256 ${files.validation.sha256}` : null],
    ['lint', dataset.lint ? `${dataset.lint.errors.length} errors, ${dataset.lint.warnings.length} warnings` : null],
    ['error', dataset.error],
    ['created', dataset.created_at],
  ]);
  for (const finding of [...(dataset.lint?.errors ?? []), ...(dataset.lint?.warnings ?? [])]) {
    ctx.out.write(`  ${finding.severity} ${finding.rule} (${finding.count} examples): ${finding.message}\n`);
  }
}

export interface CreateDatasetOptions {
  name: string;
  format: string;
  suite?: string;
  session?: string[];
  model?: string;
  createdAfter?: string;
  createdBefore?: string;
  validationSplit?: number;
  seed?: number;
  dedupe: boolean;
  wait?: boolean;
}

export async function createDatasetCommand(ctx: CommandContext, options: CreateDatasetOptions) {
  if (!(DATASET_FORMATS as readonly string[]).includes(options.format)) {
    throw CliError.usage(`--format must be one of ${DATASET_FORMATS.join(', ')}.`);
  }
  const api = ctx.api();
  const body: Schemas['CreateDataset'] = {
    name: options.name,
    format: options.format as Schemas['DatasetFormat'],
    dedupe: options.dedupe,
    ...(options.suite !== undefined ? { suite_id: await resolveSuiteId(api, options.suite) } : {}),
    ...(options.session !== undefined ? { session_ids: options.session } : {}),
    ...(options.model !== undefined ? { model_id: await resolveModelId(api, options.model) } : {}),
    ...(options.createdAfter !== undefined ? { created_after: options.createdAfter } : {}),
    ...(options.createdBefore !== undefined ? { created_before: options.createdBefore } : {}),
    ...(options.validationSplit !== undefined ? { validation_split: options.validationSplit } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  };
  let dataset = await unwrap(api, api.client.POST('/v1/datasets', { body }));
  if (options.wait) {
    ctx.out.log(`dataset ${dataset.id} building...`);
    dataset = await interruptible((signal) =>
      pollUntil(
        () => unwrap(api, api.client.GET('/v1/datasets/{id}', { params: { path: { id: dataset.id } } })),
        (value) => value.status !== 'building',
        signal,
      ),
    );
  }
  printResult(ctx.out, dataset, () => printDataset(ctx, dataset));
  if (dataset.status === 'failed') throw new CliError('rejected', `Dataset ${dataset.id} failed: ${dataset.error ?? 'no reason given'}.`, 'dataset_failed');
}

export async function getDatasetCommand(ctx: CommandContext, id: string) {
  const api = ctx.api();
  const dataset = await unwrap(api, api.client.GET('/v1/datasets/{id}', { params: { path: { id } } }));
  printResult(ctx.out, dataset, () => printDataset(ctx, dataset));
}

export async function downloadDatasetCommand(ctx: CommandContext, id: string, options: { file: string; output?: string }) {
  const name = `${options.file.replace(/\.jsonl$/, '')}.jsonl`;
  if (name !== 'train.jsonl' && name !== 'validation.jsonl') throw CliError.usage('--file must be train or validation.');
  const api = ctx.api();
  await downloadTo(
    ctx,
    api,
    () => api.client.GET('/v1/datasets/{id}/files/{name}', { params: { path: { id, name } }, parseAs: 'stream' }),
    options.output,
    { dataset_id: id, name },
  );
}
