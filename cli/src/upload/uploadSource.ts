/**
 * What `tracepipe upload` sends: a file as it is, or a recorder folder (`input/*.json`, `screenshot/<time>/`)
 * zipped on the fly as a `recorder-bundle` with yazl (entries stored, not deflated: the images are compressed
 * already, and a stored zip's size is known before it is written, so progress has an end). The zip is streamed,
 * never whole in memory, and deterministic for the same files (names sorted, each entry's time and mode from the
 * file), so a resumed upload of a folder makes the same bytes again.
 *
 * The identity keys the resume record: a file's path, size, modification time, device and inode; a folder's path
 * and each file's relative path, size and modification time. A changed file is another upload.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { CliError } from '../cliError.js';
import type { BlockReader } from './stagedUpload.js';

export interface OpenedSource {
  /** Fills a buffer with the next bytes (fewer only at the end). */
  read: BlockReader;
  /** Bytes it will give. */
  size: number;
  close(): Promise<void>;
}

/** A stream's bytes into the caller's buffers (the zip of a folder: chunks are copied, then dropped). */
function streamReader(stream: Readable): { read: BlockReader; close(): Promise<void> } {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let leftover: Buffer | undefined;
  let ended = false;
  return {
    read: async (buffer) => {
      let filled = 0;
      while (filled < buffer.length) {
        if (!leftover || leftover.length === 0) {
          if (ended) break;
          const next = await chunks.next();
          if (next.done) {
            ended = true;
            break;
          }
          leftover = next.value;
        }
        const taken = leftover.copy(buffer, filled);
        filled += taken;
        leftover = leftover.subarray(taken);
      }
      return filled;
    },
    close: async () => {
      stream.destroy();
    },
  };
}

/** A file read straight into the caller's buffers, in order. */
async function fileReader(path: string): Promise<{ read: BlockReader; close(): Promise<void> }> {
  const handle = await open(path, 'r');
  let position = 0;
  return {
    read: async (buffer) => {
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position);
        if (bytesRead === 0) break;
        filled += bytesRead;
        position += bytesRead;
      }
      return filled;
    },
    close: () => handle.close(),
  };
}

export interface UploadSource {
  kind: 'file' | 'folder';
  path: string;
  /** The upload's file name, as the API accepts it (1-128 of `A-Za-z0-9._-`). */
  fileName: string;
  /** A folder is always a recorder bundle; a file's format is found by the API unless named. */
  format: 'recorder-bundle' | undefined;
  identity: string;
  open(): Promise<OpenedSource>;
}

/** The API's rule for file names (shared/sessions/sessionBlob.ts UPLOAD_FILE_NAME_PATTERN), applied here first. */
export function safeFileName(name: string, fallback: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '').slice(0, 128);
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(safe) ? safe : fallback;
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** Names that recorders and file managers leave in folders and the indexer ignores anyway. */
const IGNORED = new Set(['.DS_Store', 'Thumbs.db', '__MACOSX']);

async function filesUnder(root: string): Promise<Array<{ absolute: string; name: string; stats: Stats }>> {
  const found: Array<{ absolute: string; name: string; stats: Stats }> = [];
  const pending = [root];
  while (pending.length > 0) {
    const folder = pending.pop() as string;
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (IGNORED.has(entry.name)) continue;
      const absolute = join(folder, entry.name);
      if (entry.isDirectory()) pending.push(absolute);
      else if (entry.isFile()) found.push({ absolute, name: relative(root, absolute).split(sep).join('/'), stats: await stat(absolute) });
    }
  }
  // Byte order of the names, not the locale's: the same zip on every machine.
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function folderSource(path: string): Promise<UploadSource> {
  const files = await filesUnder(path);
  if (!files.some((file) => file.name.startsWith('input/'))) {
    throw CliError.usage(`${path} is not a recorder folder: it has no input/ folder of events.`);
  }
  return {
    kind: 'folder',
    path,
    fileName: safeFileName(`${basename(path)}.zip`, 'recording.zip'),
    format: 'recorder-bundle',
    identity: digest({ folder: path, files: files.map((file) => [file.name, file.stats.size, file.stats.mtimeMs]) }),
    open: () =>
      new Promise((resolveOpened, reject) => {
        const zip = new yazl.ZipFile();
        for (const file of files) {
          zip.addFile(file.absolute, file.name, { compress: false, mtime: file.stats.mtime, mode: file.stats.mode });
        }
        // yazl hands the callback the zip's total size (-1 when an entry's size is unknown); @types/yazl declares
        // it without the argument.
        const end = zip.end.bind(zip) as (options: object, callback: (size: number) => void) => void;
        end({}, (size: number) => {
          if (size < 0) reject(new Error('The zip size could not be computed.'));
          else resolveOpened({ ...streamReader(zip.outputStream as Readable), size });
        });
      }),
  };
}

export async function uploadSourceOf(given: string): Promise<UploadSource> {
  const path = resolve(given);
  let stats: Stats;
  try {
    stats = await stat(path);
  } catch {
    throw CliError.usage(`${given}: no such file or folder.`);
  }
  if (stats.isDirectory()) return folderSource(path);
  if (!stats.isFile()) throw CliError.usage(`${given} is neither a file nor a folder.`);
  return {
    kind: 'file',
    path,
    fileName: safeFileName(basename(path), 'upload'),
    format: undefined,
    identity: digest({ file: path, size: stats.size, mtimeMs: stats.mtimeMs, dev: stats.dev, ino: stats.ino }),
    open: async () => ({ ...(await fileReader(path)), size: stats.size }),
  };
}
