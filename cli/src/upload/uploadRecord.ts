/**
 * The CLI's own record of an upload in progress, for resuming it: a SAS upload URL cannot list the blocks staged
 * through it, so what was staged is written down here as each block succeeds. One JSON file per upload under the
 * state folder, keyed by the source's identity, the API and the suite; the session it belongs to is inside, so a
 * run with the same arguments finds the session and the blocks again. Deleted once the blocks are committed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RECORD_VERSION = 1;

export interface UploadRecord {
  version: typeof RECORD_VERSION;
  source: { path: string; identity: string; size: number };
  base_url: string;
  suite_id: string;
  session_id: string;
  upload_url: string;
  expires_at: string;
  block_size: number;
  /** Staged blocks by index: the sha256 of the block's bytes for a folder's zip (made again on resume, so
   * checked), "" for a file (its identity guards its bytes). */
  blocks: Record<string, string>;
}

export function recordKey(parts: { baseUrl: string; suiteId: string; identity: string; format: string | undefined }): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

export class UploadRecords {
  private readonly folder: string;

  constructor(stateDir: string) {
    this.folder = join(stateDir, 'uploads');
  }

  pathOf(key: string): string {
    return join(this.folder, `${key}.json`);
  }

  load(key: string): UploadRecord | undefined {
    try {
      const record = JSON.parse(readFileSync(this.pathOf(key), 'utf8')) as UploadRecord;
      return record.version === RECORD_VERSION ? record : undefined;
    } catch {
      return undefined; // none, or unreadable (a crash mid-write cannot leave one: writes are renamed into place)
    }
  }

  save(key: string, record: UploadRecord): void {
    mkdirSync(this.folder, { recursive: true, mode: 0o700 });
    const temporary = `${this.pathOf(key)}.${process.pid}.tmp`;
    // It holds an upload URL (a write credential for one blob): its owner's only.
    writeFileSync(temporary, JSON.stringify(record), { mode: 0o600 });
    renameSync(temporary, this.pathOf(key));
  }

  delete(key: string): void {
    rmSync(this.pathOf(key), { force: true });
  }
}
