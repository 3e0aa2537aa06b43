import type { HttpRequest } from '@azure/functions';
import { ReadableStream, type ReadableStreamDefaultReader } from 'node:stream/web';
import { ApiError } from '../errors/apiError.js';

/**
 * Body limits hold before the bytes are read: a declared Content-Length over the limit is refused before anything
 * else, and a body sent without one (chunked) is cut at the byte that crosses it, as it streams. Nothing is buffered
 * beyond the limit, and the rest is never read (the host discards it).
 */

/** JSON bodies above this are refused with 413 (uploads, MCP, A2P and the Stripe webhook have their own). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export function payloadTooLarge(limit: number): ApiError {
  return new ApiError('payload_too_large', `The request body is over this endpoint's limit of ${limit} bytes.`, {
    max_bytes: limit,
  });
}

/** 413 when the client declares a body longer than the limit. */
export function assertDeclaredLengthWithin(headers: Headers, limit: number): void {
  const declared = headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit) throw payloadTooLarge(limit);
}

/**
 * The body as a stream that fails with the 413 at the chunk that crosses the limit. The source is released, not
 * canceled, at that point: canceling would tear down the connection the answer still has to go out on. It is
 * locked only once read, so a handler that reads the request another way may leave this unread.
 */
export function limitBody(body: ReadableStream<Uint8Array> | null, limit: number): ReadableStream<Uint8Array> | null {
  if (!body) return null;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= body.getReader();
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      size += value.byteLength;
      if (size > limit) {
        reader.releaseLock();
        controller.error(payloadTooLarge(limit));
        return;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader ? reader.cancel(reason) : body.cancel(reason);
    },
    // Nothing is pulled ahead of a read (the default would pull one chunk, and lock the body, at once).
  }, { highWaterMark: 0 });
}

/** The whole (limited) body as UTF-8 text; text that is not UTF-8 is a 400. */
export async function readBodyText(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return '';
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (bytes?: Uint8Array) => {
    try {
      return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
    } catch {
      throw ApiError.badRequest('The request body is not valid UTF-8.');
    }
  };
  let text = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decode(value);
    }
    return text + decode();
  } catch (error) {
    // The stream fails with a TypeError when the client goes away mid-body ("terminated"): not our fault.
    if (error instanceof TypeError) throw ApiError.badRequest('The request body was cut short.');
    throw error;
  } finally {
    reader.releaseLock();
  }
}

/** The request's body as text, at most `limit` bytes (413 beyond, declared or streamed). */
export async function readTextWithLimit(request: HttpRequest, limit: number): Promise<string> {
  assertDeclaredLengthWithin(request.headers, limit);
  return readBodyText(limitBody(request.body, limit));
}
