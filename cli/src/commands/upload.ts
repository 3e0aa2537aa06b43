/**
 * `tracepipe upload <file|folder> --suite <name or id>`: creates the session (or finds the one a previous run
 * began), stages the bytes straight into its staging blob through the upload URL, commits them, and with --wait
 * follows indexing. Run again after an interruption with the same arguments, it resumes (see uploadRecord.ts).
 */
import { BlockBlobClient } from '@azure/storage-blob';
import type { Schemas } from '../../../clients/typescript/src/index.js';
import { resolveSuiteId, unwrap, type Api } from '../api.js';
import { CliError } from '../cliError.js';
import type { CommandContext } from '../context.js';
import { interruptible } from '../interrupt.js';
import { formatBytes, printFields, printResult } from '../output.js';
import { stateDir } from '../settings.js';
import { uploadProgress } from '../upload/progress.js';
import { stageAndCommit, type StagedUploadResult } from '../upload/stagedUpload.js';
import { recordKey, RECORD_VERSION, UploadRecords, type UploadRecord } from '../upload/uploadRecord.js';
import { uploadSourceOf } from '../upload/uploadSource.js';
import { pollUntil } from '../waitFor.js';

type Session = Schemas['Session'];
type CreatedSession = Schemas['CreatedSession'];

export interface UploadOptions {
  suite: string;
  description?: string;
  format?: string;
  wait?: boolean;
  blockSize: number;
  concurrency: number;
}

/**
 * Blocks of 4 MiB, 4 in flight: 20 MiB of block buffers (the process peaks near 110 MB, `npm run bench --
 * cli-upload`), and Azure's 50,000 blocks a blob allow 195 GiB, far above the API's 5 GiB.
 */
export const DEFAULT_BLOCK_SIZE_MIB = 4;
export const DEFAULT_CONCURRENCY = 4;
/** Azure's largest block for Put Block (4000 MiB); more than a few tens of MiB buys nothing here. */
export const MAX_BLOCK_SIZE_MIB = 256;
export const MAX_CONCURRENCY = 32;
/** An upload URL closer than this to its expiry is renewed before the upload starts. */
const RENEW_MARGIN_MS = 5 * 60_000;

async function findSession(api: Api, id: string): Promise<Session | undefined> {
  const result = await api.client.GET('/v1/sessions/{id}', { params: { path: { id } } });
  if (result.response.status === 404) return undefined;
  return unwrap(api, Promise.resolve(result));
}

export async function uploadCommand(ctx: CommandContext, path: string, options: UploadOptions): Promise<void> {
  const source = await uploadSourceOf(path);
  if (options.format !== undefined && source.format !== undefined && options.format !== source.format) {
    throw CliError.usage(`A folder is uploaded as ${source.format}, not ${options.format}.`);
  }
  const format = options.format ?? source.format;
  const api = ctx.api();
  const log = ctx.out.log;
  const suiteId = await resolveSuiteId(api, options.suite);
  const records = new UploadRecords(stateDir());
  const key = recordKey({ baseUrl: api.baseUrl, suiteId, identity: source.identity, format });
  const opened = await source.open();

  let record = records.load(key);
  let session: Session | undefined;
  let resumed = false;
  let renewedUrl = false;
  const save = () => records.save(key, record as UploadRecord);
  const takeUpload = (answer: CreatedSession) => {
    record = {
      ...(record as UploadRecord),
      session_id: answer.id,
      upload_url: answer.upload.url,
      expires_at: answer.upload.expires_at,
    };
    session = answer;
    save();
  };

  if (record) {
    const existing = await findSession(api, record.session_id);
    if (!existing) {
      records.delete(key);
      record = undefined;
    } else if (existing.status === 'awaiting_upload') {
      session = existing;
      resumed = true;
      log(`resuming the upload of session ${existing.id}: ${Object.keys(record.blocks).length} blocks staged before`);
    } else if (existing.status === 'invalid') {
      log(`session ${existing.id} was invalid; uploading again on a fresh URL`);
      record.blocks = {};
      takeUpload(await unwrap(api, api.client.POST('/v1/sessions/{id}/upload', { params: { path: { id: existing.id } }, body: {} })));
    } else {
      // processing or ready: the blocks were committed, only the record's deletion was lost.
      records.delete(key);
      session = existing;
      record = undefined;
    }
  } else {
    const answer = await unwrap(
      api,
      api.client.POST('/v1/sessions', {
        body: {
          suite_id: suiteId,
          file_name: source.fileName,
          ...(options.description !== undefined ? { description: options.description } : {}),
          ...(format !== undefined ? { format: format as Schemas['CreateSessionRequest']['format'] & string } : {}),
        },
      }),
    );
    // The JSON form always answers with an upload URL (the document's 201 also covers the multipart form's).
    if (!('upload' in answer)) throw new CliError('api', 'The API answered without an upload URL.', 'unexpected_response');
    const created: CreatedSession = answer;
    if (opened.size > created.upload.max_bytes) {
      // The limit is only known from the answer: the empty session it made goes again (best effort).
      await api.client.DELETE('/v1/sessions/{id}', { params: { path: { id: created.id }, query: {} } }).catch(() => undefined);
      throw new CliError('usage', `${path} is ${formatBytes(opened.size)}; uploads are at most ${formatBytes(created.upload.max_bytes)}.`, 'payload_too_large', {
        max_bytes: created.upload.max_bytes,
      });
    }
    record = {
      version: RECORD_VERSION,
      source: { path: source.path, identity: source.identity, size: opened.size },
      base_url: api.baseUrl,
      suite_id: suiteId,
      session_id: created.id,
      upload_url: created.upload.url,
      expires_at: created.upload.expires_at,
      block_size: options.blockSize,
      blocks: {},
    };
    session = created;
    save();
    log(`session ${created.id} created; uploading ${formatBytes(opened.size)}`);
  }

  let staged: StagedUploadResult | undefined;
  if (!record) await opened.close();
  if (record) {
    const current = record;
    let blob = new BlockBlobClient(current.upload_url);
    const renew = async () => {
      const answer = await unwrap(
        api,
        api.client.POST('/v1/sessions/{id}/upload', { params: { path: { id: current.session_id } }, body: { renew: true } }),
      );
      current.upload_url = answer.upload.url;
      current.expires_at = answer.upload.expires_at;
      save();
      blob = new BlockBlobClient(current.upload_url);
      renewedUrl = true;
      log('the upload URL expired; continuing with a fresh one');
    };
    if (Date.parse(current.expires_at) - Date.now() < RENEW_MARGIN_MS) await renew();
    const progress = uploadProgress(opened.size);
    try {
      staged = await interruptible((signal) =>
        stageAndCommit({
          source: opened.read,
          blockSize: current.block_size,
          concurrency: options.concurrency,
          staged: new Map(Object.entries(current.blocks).map(([index, digest]) => [Number(index), digest])),
          checkStaged: source.kind === 'folder',
          blob: () => blob,
          renew,
          onStaged: (index, digest) => {
            current.blocks[index] = digest;
            save();
          },
          onProgress: (done, sent) => progress.update(done, sent),
          signal,
        }),
      );
    } catch (error) {
      progress.stop();
      throw stoppedUpload(error, current, path);
    } finally {
      await opened.close();
    }
    progress.stop();
    records.delete(key);
  }

  let final = session as Session;
  if (options.wait) {
    log(`indexing session ${final.id}...`);
    final = await interruptible((signal) =>
      pollUntil(
        () => unwrap(api, api.client.GET('/v1/sessions/{id}', { params: { path: { id: final.id } } })),
        (value) => value.status === 'ready' || value.status === 'invalid',
        signal,
      ),
    );
  }
  const uploadFigures = staged && {
    size_bytes: staged.size,
    sha256: staged.sha256,
    blocks: staged.blockIds.length,
    blocks_uploaded: staged.blocksUploaded,
    blocks_reused: staged.blocksReused,
    bytes_uploaded: staged.bytesUploaded,
    resumed,
    url_renewed: renewedUrl,
  };
  printResult(ctx.out, { session: final, upload: uploadFigures ?? null }, () => printSession(ctx, final, staged?.sha256));
  if (final.status === 'invalid') {
    throw new CliError('rejected', `Session ${final.id} is invalid.`, 'session_invalid', { validation_errors: final.validation_errors });
  }
  if (options.wait && staged && final.sha256 !== null && final.sha256 !== staged.sha256) {
    throw new CliError('rejected', `The API measured sha256 ${final.sha256}, not the ${staged.sha256} sent.`, 'sha256_mismatch');
  }
}

function stoppedUpload(error: unknown, record: UploadRecord, path: string): CliError {
  const details = { session_id: record.session_id, blocks_staged: Object.keys(record.blocks).length };
  const hint = 'run the same command again to resume';
  if (error instanceof CliError) {
    return new CliError(error.kind, `${error.message} ${details.blocks_staged} blocks of ${path} are staged; ${hint}.`, error.code, details);
  }
  const reason = (error as Error).message ?? String(error);
  return new CliError('network', `The upload stopped (${reason}); ${hint}.`, 'upload_failed', details);
}

export function printSession(ctx: CommandContext, session: Session, sentSha256?: string): void {
  const counts = session.event_counts
    ? Object.entries(session.event_counts)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([action, count]) => `${action} ${count}`)
        .join(', ')
    : null;
  printFields(ctx.out, [
    ['session', session.id],
    ['status', session.status],
    ['suite', session.suite_id],
    ['format', session.format],
    ['file', session.file_name],
    ['size', session.size_bytes === null ? null : formatBytes(session.size_bytes)],
    ['sha256', session.sha256 === null ? null : `${session.sha256}${sentSha256 === undefined ? '' : session.sha256 === sentSha256 ? ' (matches the upload)' : ' (DIFFERS from the upload)'}`],
    ['events', session.event_count === null ? null : `${session.event_count}${counts ? ` (${counts})` : ''}`],
    ['duration', session.duration_seconds === null ? null : `${session.duration_seconds} s`],
    ['screenshots', session.screenshot_count],
    ['created', session.created_at],
  ]);
  if (session.validation_errors.length > 0) {
    ctx.out.write(`${session.status === 'invalid' ? 'errors' : 'skipped'}:\n`);
    for (const problem of session.validation_errors) {
      const where =
        problem.line !== undefined ? `line ${problem.line}` : problem.index !== undefined ? `event ${problem.index}` : problem.entry !== undefined ? `entry ${problem.entry}` : 'upload';
      ctx.out.write(`  ${where}: ${problem.message}\n`);
    }
  }
}
