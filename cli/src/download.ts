/**
 * A streamed download (example messages, dataset files) to a file or stdout: the body goes through as it comes,
 * never whole in memory. A file is written beside its target and renamed into place when complete, so a failed
 * download leaves no half file under the name asked for.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { apiErrorOf, networkErrorOf, type Api } from './api.js';
import type { CommandContext } from './context.js';
import { formatBytes } from './output.js';

export async function saveBody(body: ReadableStream<Uint8Array> | null, target: string | undefined, where: string): Promise<number> {
  let bytes = 0;
  const counted = Readable.fromWeb((body ?? new Response('').body) as WebReadableStream<Uint8Array>).on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  if (target === undefined || target === '-') {
    try {
      // stdout is not ended: other output may follow, and Node closes it at exit.
      await pipeline(counted, new Writable({ write: (chunk, _encoding, done) => void process.stdout.write(chunk, done) }));
    } catch (error) {
      throw networkErrorOf(error, where);
    }
    return bytes;
  }
  const partial = `${target}.partial`;
  try {
    await pipeline(counted, createWriteStream(partial));
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw networkErrorOf(error, where);
  }
  return bytes;
}

/**
 * A download command's whole path: the request (openapi-fetch with `parseAs: 'stream'`), its error as the API's,
 * the body saved, and a line saying where it went (JSON with --json) when it went to a file.
 */
export async function downloadTo(
  ctx: CommandContext,
  api: Api,
  request: () => Promise<{ data?: ReadableStream<Uint8Array> | null; error?: unknown; response: Response }>,
  output: string | undefined,
  summary: Record<string, unknown>,
): Promise<void> {
  let result;
  try {
    result = await request();
  } catch (error) {
    throw networkErrorOf(error, api.baseUrl);
  }
  if (!result.response.ok) throw apiErrorOf(result.response, result.error);
  const bytes = await saveBody(result.data ?? null, output, api.baseUrl);
  if (output === undefined || output === '-') return;
  if (ctx.out.json) ctx.out.write(`${JSON.stringify({ ...summary, file: output, size_bytes: bytes })}\n`);
  else ctx.out.log(`wrote ${formatBytes(bytes)} to ${output}`);
}
