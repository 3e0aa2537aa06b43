import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import type { BlockBlobClient } from '@azure/storage-blob';
import busboy from 'busboy';
import { ApiError } from '../errors/apiError.js';
import { StagedBlockUpload } from './stagedBlockUpload.js';

/**
 * Reads a `multipart/form-data` session upload as it arrives (busboy over the request's body stream), in any
 * field order: the file part `input_events` is written to the session's staging blob as staged blocks while it streams,
 * never held whole; text fields are collected, and handed to `onField` as they arrive so that a bad suite fails
 * the upload before the file is read. Over `maxBytes` is a 413 at the byte that crosses it.
 * The blocks are not committed here: the caller commits them once the session row exists.
 */

export const FILE_FIELD = 'input_events';
const TEXT_FIELD_MAX_BYTES = 64 * 1024;

export interface MultipartUploadOptions {
  contentType: string;
  body: ReadableStream<Uint8Array> | null;
  maxBytes: number;
  /** The blob the file's blocks are staged to, chosen once its part (with its file name) arrives. */
  blobFor: (fileName: string | undefined) => BlockBlobClient;
  /** Called for each text field as it arrives; may reject (with an ApiError) to stop the upload. */
  onField?: (name: string, value: string) => Promise<void>;
  blockBytes?: number;
}

export interface ReceivedMultipartUpload {
  fields: Record<string, string>;
  /** The staged file, or null when the form had no `input_events` part. */
  file: { blockIds: string[]; sizeBytes: number } | null;
}

export function isMultipartFormData(contentType: string | null): boolean {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() === 'multipart/form-data';
}

export async function receiveMultipartUpload(options: MultipartUploadOptions): Promise<ReceivedMultipartUpload> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': options.contentType },
      limits: { files: 1, fileSize: options.maxBytes, fields: 20, fieldSize: TEXT_FIELD_MAX_BYTES, parts: 30 },
    });
  } catch (error) {
    throw ApiError.badRequest(`Malformed multipart/form-data: ${(error as Error).message}.`);
  }
  if (!options.body) throw ApiError.badRequest('The request body is empty; a multipart form is required.');
  const source = Readable.fromWeb(options.body);
  const abort = new AbortController();
  const fields: Record<string, string> = Object.create(null) as Record<string, string>; // no `__proto__` games
  const tasks: Promise<void>[] = [];
  const file: { stream?: Readable; upload?: StagedBlockUpload; blockIds?: Promise<string[]> } = {};
  let failure: unknown;

  const fail = (error: unknown) => {
    if (failure !== undefined) return;
    failure = error;
    abort.abort(error);
    source.unpipe(parser);
    // Not from inside busboy's own event callbacks: it goes on using the file stream after emitting 'limit'.
    setImmediate(() => {
      source.destroy();
      file.stream?.destroy();
      parser.destroy();
    });
  };

  const parsed = new Promise<void>((resolve) => {
    parser.on('field', (name, value) => {
      fields[name] = value;
      if (options.onField) tasks.push(options.onField(name, value).catch(fail));
    });
    parser.on('file', (name, stream, info) => {
      if (name !== FILE_FIELD) {
        stream.resume();
        fail(ApiError.badRequest(`Unexpected file field "${name}"; the trace goes in "${FILE_FIELD}".`));
        return;
      }
      const upload = new StagedBlockUpload(options.blobFor(info.filename), {
        abortSignal: abort.signal,
        blockBytes: options.blockBytes,
      });
      file.stream = stream;
      file.upload = upload;
      stream.on('limit', () =>
        fail(
          new ApiError('payload_too_large', `Multipart uploads are limited to ${options.maxBytes} bytes; use the upload URL of a JSON create for larger traces.`, {
            max_bytes: options.maxBytes,
          }),
        ),
      );
      file.blockIds = (async () => {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (failure !== undefined) break;
          await upload.write(chunk);
        }
        return upload.finish();
      })();
      file.blockIds.catch(fail);
    });
    parser.on('filesLimit', () => fail(ApiError.badRequest(`Only one file is accepted ("${FILE_FIELD}").`)));
    parser.on('partsLimit', () => fail(ApiError.badRequest('The form has too many parts.')));
    parser.on('fieldsLimit', () => fail(ApiError.badRequest('The form has too many fields.')));
    parser.on('error', (error: Error) => fail(ApiError.badRequest(`Malformed multipart/form-data: ${error.message}.`)));
    source.on('error', (error: Error) =>
      fail(error instanceof ApiError ? error : ApiError.badRequest(`The upload was interrupted: ${error.message}.`)),
    );
    parser.on('close', () => resolve());
    abort.signal.addEventListener('abort', () => resolve(), { once: true });
    source.pipe(parser);
  });

  await parsed;
  const blockIds = failure === undefined && file.blockIds ? await file.blockIds.catch(fail) : undefined;
  await Promise.all(tasks);
  if (failure !== undefined) {
    await file.upload?.settle();
    throw failure;
  }
  return {
    fields,
    file: file.upload && blockIds ? { blockIds, sizeBytes: file.upload.sizeBytes } : null,
  };
}
