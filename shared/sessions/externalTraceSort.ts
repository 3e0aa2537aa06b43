import { StringDecoder } from 'node:string_decoder';
import type { ContainerClient } from '@azure/storage-blob';
import type { TraceRecord } from '../traces/canonicalEvent.js';
import { MinHeap } from '../traces/minHeap.js';
import type { CanonicalTraceWriter } from './canonicalTraceWriter.js';
import { StagedBlockUpload } from './stagedBlockUpload.js';

/**
 * Puts a trace of any size into time order in bounded memory (an external merge sort): events are gathered up to
 * RUN_BYTES, sorted, and written as a run blob under the session's `.indexing/` folder; at the end the runs are
 * merged, streamed side by side, into the canonical writer (in rounds of MERGE_FAN_IN runs when there are more,
 * so that no more downloads are open at once). A trace that fits in one run never touches storage. Equal times
 * keep the order they arrived in (the sort is stable and earlier runs win ties), as a recording's order is the
 * best guess for events stamped the same microsecond.
 *
 * A run's line is `<time>\t<order>\t<canonical line>`: the numbers never hold a tab, so the first two end them
 * (whatever the line holds after them), and a line never holds a newline. Runs are deleted by `cleanUp`, and by the next
 * indexing run of the session if this one died.
 */
export const RUN_BYTES = 8 * 1024 * 1024;
export const MERGE_FAN_IN = 32;

interface Run {
  name: string;
}

export class ExternalTraceSort {
  readonly #container: ContainerClient;
  readonly #prefix: string;
  readonly #runBytes: number;
  #buffer: TraceRecord[] = [];
  #bufferBytes = 0;
  #runs: Run[] = [];
  #runCounter = 0;

  constructor(container: ContainerClient, workPrefix: string, runBytes = RUN_BYTES) {
    this.#container = container;
    this.#prefix = workPrefix;
    this.#runBytes = runBytes;
  }

  async add(records: readonly TraceRecord[]): Promise<void> {
    for (const record of records) {
      this.#buffer.push(record);
      this.#bufferBytes += record.text.length + 24;
      if (this.#bufferBytes >= this.#runBytes) await this.#spill();
    }
  }

  /** Writes every event, in time order, to `writer`. */
  async writeTo(writer: CanonicalTraceWriter): Promise<void> {
    if (this.#runs.length === 0) {
      const sorted = this.#takeSorted();
      for (let i = 0; i < sorted.length; i += 10_000) await writer.write(sorted.slice(i, i + 10_000));
      return;
    }
    await this.#spill();
    while (this.#runs.length > MERGE_FAN_IN) {
      const rounds: Run[] = [];
      for (let i = 0; i < this.#runs.length; i += MERGE_FAN_IN) {
        const group = this.#runs.slice(i, i + MERGE_FAN_IN);
        const merged = this.#nextRunName();
        const upload = new RunWriter(this.#container, merged);
        await mergeRuns(this.#container, group, (batch) => upload.write(batch));
        await upload.commit();
        await Promise.all(group.map((run) => this.#container.deleteBlob(run.name).catch(() => undefined)));
        rounds.push({ name: merged });
      }
      this.#runs = rounds;
    }
    await mergeRuns(this.#container, this.#runs, (batch) => writer.write(batch));
  }

  /** Deletes the run blobs. */
  async cleanUp(): Promise<void> {
    await deleteRunsUnder(this.#container, this.#prefix);
  }

  #takeSorted(): TraceRecord[] {
    const sorted = this.#buffer;
    this.#buffer = [];
    this.#bufferBytes = 0;
    sorted.sort((a, b) => a.time - b.time || (a.order ?? 0) - (b.order ?? 0)); // stable: ties keep their order
    return sorted;
  }

  async #spill(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const sorted = this.#takeSorted();
    const name = this.#nextRunName();
    const upload = new RunWriter(this.#container, name);
    for (let i = 0; i < sorted.length; i += 10_000) await upload.write(sorted.slice(i, i + 10_000));
    await upload.commit();
    this.#runs.push({ name });
  }

  #nextRunName(): string {
    return `${this.#prefix}run-${String(this.#runCounter++).padStart(6, '0')}`;
  }
}

export async function deleteRunsUnder(container: ContainerClient, prefix: string): Promise<void> {
  for await (const blob of container.listBlobsFlat({ prefix })) {
    await container.deleteBlob(blob.name).catch(() => undefined);
  }
}

class RunWriter {
  readonly #upload: StagedBlockUpload;
  readonly #container: ContainerClient;
  readonly #name: string;

  constructor(container: ContainerClient, name: string) {
    this.#container = container;
    this.#name = name;
    // One block in flight: a run is written once and read once, and its memory is the sort's own budget's.
    this.#upload = new StagedBlockUpload(container.getBlockBlobClient(name), { concurrency: 1 });
  }

  async write(records: readonly TraceRecord[]): Promise<void> {
    let text = '';
    for (const record of records) text += `${record.time}\t${record.order ?? 0}\t${record.text}\n`;
    await this.#upload.write(Buffer.from(text, 'utf8'));
  }

  async commit(): Promise<void> {
    const blockIds = await this.#upload.finish();
    await this.#container.getBlockBlobClient(this.#name).commitBlockList(blockIds);
  }
}

/** Reads a run's records in order, a chunk at a time. */
async function* runRecords(container: ContainerClient, run: Run): AsyncGenerator<TraceRecord> {
  const download = await container.getBlobClient(run.name).download(0, undefined, { maxRetryRequests: 5 });
  const decoder = new StringDecoder('utf8'); // a chunk may end inside a character
  let rest = '';
  for await (const chunk of download.readableStreamBody ?? []) {
    const text = rest + decoder.write(chunk as Buffer);
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      const tab = text.indexOf('\t', start);
      const second = text.indexOf('\t', tab + 1);
      yield { time: Number(text.slice(start, tab)), order: Number(text.slice(tab + 1, second)), text: text.slice(second + 1, newline) };
      start = newline + 1;
    }
    rest = text.slice(start);
  }
}

/** Merges sorted runs into `sink`, in batches, with a heap over the runs' next records. */
async function mergeRuns(
  container: ContainerClient,
  runs: Run[],
  sink: (batch: TraceRecord[]) => Promise<void>,
): Promise<void> {
  const sources = runs.map((run) => runRecords(container, run));
  interface Head {
    record: TraceRecord;
    source: number;
  }
  const heap = new MinHeap<Head>(
    (a, b) => {
      if (a.record.time !== b.record.time) return a.record.time < b.record.time;
      const byOrder = (a.record.order ?? 0) - (b.record.order ?? 0);
      return byOrder !== 0 ? byOrder < 0 : a.source < b.source;
    },
  );
  try {
    for (let source = 0; source < sources.length; source++) {
      const next = await (sources[source] as AsyncGenerator<TraceRecord>).next();
      if (!next.done) heap.push({ record: next.value, source });
    }
    let batch: TraceRecord[] = [];
    while (heap.size > 0) {
      const head = heap.pop();
      batch.push(head.record);
      if (batch.length >= 10_000) {
        await sink(batch);
        batch = [];
      }
      const next = await (sources[head.source] as AsyncGenerator<TraceRecord>).next();
      if (!next.done) heap.push({ record: next.value, source: head.source });
    }
    if (batch.length > 0) await sink(batch);
  } finally {
    await Promise.all(sources.map((source) => source.return(undefined)));
  }
}
