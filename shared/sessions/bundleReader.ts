import type { Readable } from 'node:stream';
import type { BlobClient } from '@azure/storage-blob';
import yauzl from 'yauzl';
import { BundleLayout } from '../traces/bundleLayout.js';
import { isObject, type TraceRecord } from '../traces/canonicalEvent.js';
import { convertRecorderEvent } from '../traces/recorderEvents.js';
import type { TraceRedactor } from '../traces/redaction/traceRedactor.js';
import type { TraceSummary } from '../traces/traceSummary.js';
import { formatIsoTimestamp, parseIsoTimestamp } from '../traces/traceTime.js';
import { BlobRangeReader } from './blobRangeReader.js';
import { ScreenshotError, type ScreenshotStore, type StoredScreenshot } from './screenshotStore.js';

/**
 * Reads a recorder bundle (a zip of the recorder's folder, see traces/bundleLayout.ts) straight from its blob with
 * yauzl, which reads the central directory (not the local headers, which a hostile zip can contradict), refuses
 * names that leave the folder, and checks every entry's real size against the declared one (a zip bomb stops at
 * its declared size). Limits on top: entries, the unpacked total (the upload's own limit: what a bundle unpacks to
 * must fit where the upload did), and each kind of entry's size. Events go to the summary; screenshots, in pass
 * one, to the store.
 */

export const MAX_BUNDLE_ENTRIES = 250_000;
export const MAX_INPUT_ENTRY_BYTES = 1024 * 1024;
export const MAX_SCREENSHOT_META_BYTES = 64 * 1024;
export const MAX_SCREENSHOTS = 10_000;

export interface BundleReadOptions {
  blob: BlobClient;
  etag: string;
  sizeBytes: number;
  maxUnpackedBytes: number;
  summary: TraceSummary;
  /** Called with the events found so far, after each input entry. */
  onEvents: (records: TraceRecord[]) => Promise<void>;
  /** Where screenshots go; null skips them (a second pass over a bundle whose screenshots are stored). */
  screenshots: ScreenshotStore | null;
  /** Masks passwords and what the user's rules name in each event and each screenshot's JSON. */
  redactor: TraceRedactor;
}

export interface BundleReadResult {
  /** The manifest's lines, in time order (empty when screenshots were skipped). */
  manifest: string[];
  screenshotCount: number;
  unpackedBytes: number;
}

interface ShotFolder {
  meta?: { entry: string; value: Record<string, unknown> };
  image?: { entry: string; stored: StoredScreenshot };
  time: number | undefined;
  broken: boolean;
}

export async function readBundle(options: BundleReadOptions): Promise<BundleReadResult> {
  const { summary } = options;
  const result: BundleReadResult = { manifest: [], screenshotCount: 0, unpackedBytes: 0 };
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(new BlobRangeReader(options.blob, options.etag), options.sizeBytes, {
      lazyEntries: true,
      autoClose: false,
      validateEntrySizes: true,
      strictFileNames: false,
    });
  } catch (error) {
    if (isGone(error)) throw error;
    summary.fileError(`The upload is not a readable zip: ${messageOf(error)}.`);
    return result;
  }
  const layout = new BundleLayout();
  const folders = new Map<string, ShotFolder>();
  let inputs = 0;
  try {
    if (zip.entryCount > MAX_BUNDLE_ENTRIES) {
      summary.fileError(`The bundle has ${zip.entryCount} entries; at most ${MAX_BUNDLE_ENTRIES} are read.`);
      return result;
    }
    for await (const entry of zip.eachEntry()) {
      const kind = layout.classify(entry.fileName);
      if (kind.kind === 'ignored') continue;
      const position = { entry: entry.fileName };
      if (entry.isEncrypted()) {
        summary.error(position, 'The entry is encrypted; bundles must not be.');
        continue;
      }
      if (!entry.canDecodeFileData()) {
        summary.error(position, `The entry is compressed with method ${entry.compressionMethod}; use deflate or none.`);
        continue;
      }
      result.unpackedBytes += entry.uncompressedSize;
      if (result.unpackedBytes > options.maxUnpackedBytes) {
        summary.fileError(`The bundle unpacks to more than ${options.maxUnpackedBytes} bytes, the limit of this upload.`);
        return result;
      }
      if (kind.kind === 'input') {
        inputs++;
        const read = await readJsonEntry(zip, entry, MAX_INPUT_ENTRY_BYTES, summary);
        const value = read && options.redactor.redact('recorder', read.value, read.text).value;
        const converted = value === undefined ? undefined : convertRecorderEvent(value, null);
        if (converted?.ok) converted.record.order = recordedOrder(entry.fileName);
        if (converted) summary.add(position, converted);
        await options.onEvents(summary.takePending());
        continue;
      }
      const folder = folders.get(kind.folder) ?? { time: folderTime(kind.folder), broken: false };
      if (!folders.has(kind.folder)) {
        if (folders.size >= MAX_SCREENSHOTS) {
          summary.error(position, `The bundle has more than ${MAX_SCREENSHOTS} screenshots.`);
          continue;
        }
        folders.set(kind.folder, folder);
      }
      if (kind.kind === 'screenshot-meta') {
        if (folder.meta) {
          folder.broken = true;
          summary.error(position, `The screenshot folder holds two JSON files (${folder.meta.entry} too); it must hold one.`);
          continue;
        }
        const read = await readJsonEntry(zip, entry, MAX_SCREENSHOT_META_BYTES, summary);
        if (read !== undefined) folder.meta = { entry: entry.fileName, value: options.redactor.redact('document', read.value, read.text).value };
        else folder.broken = true;
        continue;
      }
      if (folder.image) {
        folder.broken = true;
        summary.error(position, `The screenshot folder holds two images (${folder.image.entry} too); it must hold one.`);
        continue;
      }
      if (folder.time === undefined) {
        folder.broken = true;
        summary.error(position, 'The screenshot folder is not named by its timestamp (screenshot/<ISO 8601 time>/).');
        continue;
      }
      if (!options.screenshots) continue;
      const stream = await zip.openReadStreamPromise(entry);
      try {
        folder.image = {
          entry: entry.fileName,
          stored: await options.screenshots.save(folder.time, kind.extension, stream, entry.uncompressedSize),
        };
      } catch (error) {
        stream.destroy();
        if (!(error instanceof ScreenshotError)) throw error;
        folder.broken = true;
        summary.error(position, error.message);
      }
    }
  } catch (error) {
    if (isGone(error)) throw error;
    summary.fileError(`The bundle cannot be read: ${describeZipError(error)}`);
    return result;
  } finally {
    zip.close();
    await options.screenshots?.settle(); // none lands after the caller's cleanup
  }
  await options.screenshots?.flush(); // every screenshot stored, or the first failure thrown
  if (inputs === 0) summary.fileError('The bundle has no events: the recorder writes them as input/<n>.json.');
  if (options.screenshots) result.manifest = manifestOf(folders, summary);
  result.screenshotCount = [...folders.values()].filter((folder) => !folder.broken).length;
  return result;
}

/** One line per complete screenshot folder, in time order; a folder without its JSON or its image is an error. */
function manifestOf(folders: Map<string, ShotFolder>, summary: TraceSummary): string[] {
  const shots: { time: number; line: string }[] = [];
  for (const [name, folder] of folders) {
    if (folder.broken) continue;
    const position = { entry: `screenshot/${name}/` };
    if (!folder.meta) {
      summary.error(position, 'The screenshot folder has no JSON file describing the shot.');
      continue;
    }
    if (!folder.image) {
      summary.error(position, 'The screenshot folder has no image (png, jpeg or webp).');
      continue;
    }
    const meta = folder.meta.value;
    const metaTime = typeof meta.timestamp === 'string' ? parseIsoTimestamp(meta.timestamp) : undefined;
    const time = metaTime?.ok ? metaTime.time : (folder.time as number);
    const { timestamp: _timestamp, action, viewport, filename: _filename, image_format: _format, ...rest } = meta;
    const { file, size, sha256, format } = folder.image.stored;
    shots.push({
      time,
      line: JSON.stringify({ timestamp: formatIsoTimestamp(time), action, viewport, file, size, sha256, image_format: format, ...rest }),
    });
  }
  return shots.sort((a, b) => a.time - b.time).map((shot) => shot.line);
}

async function readJsonEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  maxBytes: number,
  summary: TraceSummary,
): Promise<{ value: Record<string, unknown>; text: string } | undefined> {
  const position = { entry: entry.fileName };
  if (entry.uncompressedSize > maxBytes) {
    summary.error(position, `The entry is ${entry.uncompressedSize} bytes; at most ${maxBytes} are read.`);
    return undefined;
  }
  const bytes = await readAll(await zip.openReadStreamPromise(entry));
  let value: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    value = JSON.parse(text);
  } catch (error) {
    summary.error(position, `The entry is not valid UTF-8 JSON: ${messageOf(error).slice(0, 200)}`);
    return undefined;
  }
  if (!isObject(value)) {
    summary.error(position, 'The entry is not a JSON object.');
    return undefined;
  }
  return { value, text };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The recorder numbers its event files in the order it recorded them: `input/<n>.json`. */
function recordedOrder(name: string): number {
  const match = /(\d{1,15})\.json$/i.exec(name);
  return match ? Number(match[1]) : 0;
}

function folderTime(folder: string): number | undefined {
  const parsed = parseIsoTimestamp(folder);
  return parsed.ok ? parsed.time : undefined;
}

function describeZipError(error: unknown): string {
  const message = messageOf(error);
  if (message.startsWith('invalid relative path') || message.startsWith('absolute path')) {
    return `an entry's name leaves the folder (${message.slice(message.indexOf(':') + 2)}); such bundles are refused.`;
  }
  if (message.includes('too many bytes') || message.includes('not enough bytes')) {
    return `an entry's content does not match its declared size (${message}); the bundle is refused.`;
  }
  return `${message}.`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The blob was replaced or deleted while it was read: the caller drops this run (a newer upload has its own). */
export function isGone(error: unknown): boolean {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return status === 404 || status === 412;
}
