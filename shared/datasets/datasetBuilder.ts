import type { BlobServiceClient } from '@azure/storage-blob';
import { isStorageRestError } from '../storage/storageErrors.js';
import type { Kysely } from 'kysely';
import { findToolsOfMap } from '../catalog/actionToolMapRepository.js';
import type { ToolWithParameters } from '../catalog/mcpToolsFormat.js';
import type { Database, JsonObject } from '../db/schema.js';
import { StreamedBlobUpload } from '../storage/streamedBlobUpload.js';
import {
  readConversationDigest,
  readExampleConversation,
  type ExampleConversation,
} from '../trainingFormats/exampleConversation.js';
import { createDatasetLinter, type DatasetLinter } from '../trainingFormats/lint/datasetLinter.js';
import { MAX_LISTED_EXAMPLE_IDS } from '../trainingFormats/lint/lintReport.js';
import { toTrainingRecord, trainingLine } from '../trainingFormats/trainingRecords.js';
import { recordDatasetOutcomeEvent } from './datasetEvents.js';
import { datasetFileBlob, deleteDatasetFiles } from './datasetFiles.js';
import { readAhead } from './readAhead.js';
import {
  claimBuild,
  clearWorkList,
  findDatasetById,
  findUndigestedExamples,
  finishBuild,
  readWorkList,
  renewBuild,
  setConversationDigest,
  writeWorkList,
  type DatasetRow,
  type WorkItem,
} from './datasetRepository.js';

/*
 * Builds a dataset in the background, in flat memory for any number of examples:
 * 1. takes the build (a lease on the row, so one builder works on a dataset at a time; see claimBuild);
 * 2. digests matching examples completed before digests existed (deduplication needs every digest);
 * 3. lets PostgreSQL write the work list: deduplicated, shuffled by the seed, split (writeWorkList);
 * 4. reads the list a page at a time, each example's messages a few ahead in order, converts each to one line of
 *    the target format, lints it, and streams it into train.jsonl or validation.jsonl (StreamedBlobUpload);
 * 5. commits both files, then marks the dataset ready with counts, sizes, digests and the lint report.
 * A failure ends it `failed` with the reason and deletes whatever file it had committed. A dataset deleted while it
 * builds loses its files once the builder notices.
 */

export interface DatasetBuildDeps {
  db: Kysely<Database>;
  blobs: BlobServiceClient;
  log: (message: string) => void;
}

export type BuildOutcome = 'ready' | 'failed' | 'not_claimed' | 'gone';

/** A builder that says nothing for this long has stopped: another may take the dataset over. */
export const BUILD_LEASE_SECONDS = 120;
const PAGE_SIZE = 200;
/** Examples read ahead of the one being written (each at most MAX_CONVERSATION_BYTES). */
const READ_AHEAD = 8;
const TOOL_CACHE_SIZE = 256;

class BuildSuperseded extends Error {}

export async function buildDataset(deps: DatasetBuildDeps, datasetId: string): Promise<BuildOutcome> {
  const attempt = await claimBuild(deps.db, datasetId, BUILD_LEASE_SECONDS);
  if (attempt === undefined) return 'not_claimed';
  const dataset = await findDatasetById(deps.db, datasetId);
  if (!dataset) return 'gone';
  const keepLease = async () => {
    if (!(await renewBuild(deps.db, datasetId, attempt))) throw new BuildSuperseded();
  };
  try {
    const outcome = await writeDataset(deps, dataset, keepLease);
    const finished = await endBuild(deps, datasetId, attempt, { status: 'ready', ...outcome });
    if (!finished) throw new BuildSuperseded();
    deps.log(`Dataset ${datasetId}: ready, ${outcome.train_count} + ${outcome.validation_count} examples.`);
    return 'ready';
  } catch (error) {
    if (error instanceof BuildSuperseded) {
      // Deleted meanwhile (its files go too), or another attempt owns it now (and its files).
      if (!(await findDatasetById(deps.db, datasetId))) await deleteDatasetFiles(deps.blobs, datasetId);
      return 'gone';
    }
    deps.log(`Dataset ${datasetId}: the build failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await deleteDatasetFiles(deps.blobs, datasetId).catch((cleanup: unknown) =>
      deps.log(`Dataset ${datasetId}: its files could not be deleted after the failure: ${String(cleanup)}`),
    );
    await endBuild(deps, datasetId, attempt, { status: 'failed', error: failureReason(error) });
    return 'failed';
  } finally {
    await clearWorkList(deps.db, datasetId);
  }
}

/** The build's end, and the owner's webhook event of it, in one transaction. */
async function endBuild(deps: DatasetBuildDeps, datasetId: string, attempt: number, outcome: Parameters<typeof finishBuild>[3]) {
  return deps.db.transaction().execute(async (trx) => {
    const finished = await finishBuild(trx, datasetId, attempt, outcome);
    if (finished) await recordDatasetOutcomeEvent(trx, finished);
    return finished;
  });
}

/** What the owner is told; the details are in the log. */
function failureReason(error: unknown): string {
  if (isStorageRestError(error)) {
    const answer = [error.statusCode, error.code].filter((part) => part !== undefined).join(' ') || 'no answer';
    return `Storage refused the dataset's files (${answer}); nothing was kept.`;
  }
  return 'The build stopped on an unexpected error; nothing was kept. Create the dataset again, or contact support with its id.';
}

async function digestOlderExamples(deps: DatasetBuildDeps, dataset: DatasetRow, keepLease: () => Promise<void>) {
  let after: string | null = null;
  for (;;) {
    const ids = await findUndigestedExamples(deps.db, dataset, after, PAGE_SIZE);
    if (ids.length === 0) return;
    for (const id of ids) {
      const digest = await readConversationDigest(deps.blobs, id);
      if (digest) await setConversationDigest(deps.db, id, digest);
    }
    after = ids.at(-1) ?? null;
    await keepLease();
  }
}

/** The work list in order, a page at a time, renewing the build's lease at every page. */
async function* workItems(db: Kysely<Database>, datasetId: string, keepLease: () => Promise<void>): AsyncGenerator<WorkItem> {
  let after = 0;
  for (;;) {
    const page = await readWorkList(db, datasetId, after, PAGE_SIZE);
    if (page.length === 0) return;
    yield* page;
    after = page.at(-1)?.position ?? after;
    await keepLease();
  }
}

class Skipped {
  count = 0;
  readonly ids: string[] = [];

  add(exampleId: string): void {
    this.count++;
    if (this.ids.length < MAX_LISTED_EXAMPLE_IDS) this.ids.push(exampleId);
  }
}

async function writeDataset(deps: DatasetBuildDeps, dataset: DatasetRow, keepLease: () => Promise<void>) {
  if (dataset.dedupe) await digestOlderExamples(deps, dataset, keepLease);
  await clearWorkList(deps.db, dataset.id);
  const { matched, listed } = await writeWorkList(deps.db, dataset);
  await keepLease();

  const files = {
    train: new StreamedBlobUpload(datasetFileBlob(deps.blobs, dataset.id, 'train.jsonl')),
    validation: new StreamedBlobUpload(datasetFileBlob(deps.blobs, dataset.id, 'validation.jsonl')),
  };
  const counts = { train: 0, validation: 0 };
  const linter = createDatasetLinter(dataset.format);
  const skipped = new Skipped();
  const tools = new ToolCache(deps.db);
  try {
    const items = workItems(deps.db, dataset.id, keepLease);
    const read = (item: WorkItem) => readExampleConversation(deps.blobs, item.example_id);
    for await (const [item, conversation] of readAhead(items, READ_AHEAD, read)) {
      const line = lineOf(dataset, item, conversation, await tools.of(item.action_tool_map_id), linter);
      if (line === null) {
        skipped.add(item.example_id);
        continue;
      }
      await files[item.split].write(line);
      counts[item.split]++;
    }
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    await Promise.all([files.train.abort(reason), files.validation.abort(reason)]);
    throw error;
  }
  const [train, validation] = await Promise.allSettled([files.train.finish(), files.validation.finish()]);
  if (train.status === 'rejected') throw train.reason;
  if (validation.status === 'rejected') throw validation.reason;

  if (skipped.count > 0) {
    linter.addFinding({
      rule: 'build.skipped_examples',
      severity: 'warning',
      message:
        `${skipped.count} matching example(s) were left out: their messages are no longer stored, are over the ` +
        'conversion limit, or are not valid training messages any more.',
      source: null,
      count: skipped.count,
      example_ids: skipped.ids,
    });
  }
  const lint = linter.report({
    trainCount: counts.train,
    validationCount: counts.validation,
    trainBytes: train.value.bytes,
    validationBytes: validation.value.bytes,
  });
  return {
    matched_count: matched,
    duplicate_count: matched - listed,
    skipped_count: listed - counts.train - counts.validation,
    train_count: counts.train,
    validation_count: counts.validation,
    train_bytes: train.value.bytes,
    validation_bytes: validation.value.bytes,
    train_sha256: train.value.sha256,
    validation_sha256: validation.value.sha256,
    lint: JSON.stringify(lint as unknown as JsonObject),
  };
}

/** The example's line, linted; null when it cannot be converted (it is skipped and reported). */
function lineOf(
  dataset: DatasetRow,
  item: WorkItem,
  conversation: ExampleConversation,
  tools: ToolWithParameters[],
  linter: DatasetLinter,
): string | null {
  if (conversation.kind !== 'ok') return null;
  const training = toTrainingRecord(dataset.format, conversation.messages, tools);
  const line = trainingLine(training);
  linter.checkExample({ exampleId: item.example_id, messages: conversation.messages, training, lineBytes: Buffer.byteLength(line) });
  return line;
}

/** Tool definitions by action-tool map: a dataset usually spans a few maps, read once each. */
class ToolCache {
  readonly #byMap = new Map<string, ToolWithParameters[]>();

  constructor(private readonly db: Kysely<Database>) {}

  async of(mapId: string): Promise<ToolWithParameters[]> {
    const cached = this.#byMap.get(mapId);
    if (cached) return cached;
    if (this.#byMap.size >= TOOL_CACHE_SIZE) this.#byMap.clear();
    const tools = await findToolsOfMap(this.db, mapId);
    this.#byMap.set(mapId, tools);
    return tools;
  }
}
