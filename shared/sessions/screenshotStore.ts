import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContainerClient } from '@azure/storage-blob';
import { imageFormatOf } from '../traces/bundleLayout.js';
import { formatIsoTimestamp } from '../traces/traceTime.js';
import { screenshotBlobName, screenshotsManifestBlobName, SCREENSHOTS_FOLDER } from './sessionBlob.js';

/**
 * A bundle's screenshots, stored as `sessions/<id>/screenshots/<time>.<ext>` (the time of the shot, written
 * `20261201T212255.041500Z`, so that names sort by time) while the zip is read, each with its size and sha256
 * measured and its format checked against its first bytes; then the manifest `screenshots.jsonl`, one shot per
 * line in time order. The pipelines service reads the manifest.
 *
 * A bundle holds thousands of shots of tens of kilobytes: those up to SMALL_SCREENSHOT_BYTES are read whole and
 * uploaded in the background, a few at a time and within IN_FLIGHT_BYTES, while the zip is read on (an upload
 * each in turn would spend most of the indexing on round trips); a larger one is streamed, in turn. `flush`
 * waits for them all.
 */

export const MAX_SCREENSHOT_BYTES = 50 * 1024 * 1024;
const SMALL_SCREENSHOT_BYTES = 4 * 1024 * 1024;
const IN_FLIGHT_UPLOADS = 4;
const IN_FLIGHT_BYTES = 8 * 1024 * 1024;
const UPLOAD_BUFFER_BYTES = 1024 * 1024;

export interface StoredScreenshot {
  /** Relative to the session's folder: `screenshots/<name>`. */
  file: string;
  size: number;
  sha256: string;
  format: string;
}

export class ScreenshotError extends Error {}

export class ScreenshotStore {
  readonly #container: ContainerClient;
  readonly #sessionId: string;
  readonly #names = new Set<string>();
  readonly #inFlight = new Set<Promise<void>>();
  #inFlightBytes = 0;
  #failure: unknown;
  #storedBytes = 0;

  constructor(container: ContainerClient, sessionId: string) {
    this.#container = container;
    this.#sessionId = sessionId;
  }

  /** Bytes of every screenshot and the manifest written so far. */
  get storedBytes(): number {
    return this.#storedBytes;
  }

  /**
   * Stores one image (`declaredBytes`: its size as the zip says, which the zip reader holds it to); a wrong format
   * or size is a ScreenshotError, and nothing of it is kept.
   */
  async save(time: number, extension: string, content: Readable, declaredBytes: number): Promise<StoredScreenshot> {
    if (this.#failure !== undefined) throw this.#failure;
    const name = this.#nameFor(time, extension);
    const blob = this.#container.getBlockBlobClient(screenshotBlobName(this.#sessionId, name));
    const measure = new MeasureImage(extension);
    if (declaredBytes <= SMALL_SCREENSHOT_BYTES) {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of content.pipe(measure)) chunks.push(chunk as Buffer);
      } catch (error) {
        throw measure.problem ? new ScreenshotError(measure.problem) : error;
      }
      if (measure.problem) throw new ScreenshotError(measure.problem);
      const image = Buffer.concat(chunks);
      while (this.#inFlight.size >= IN_FLIGHT_UPLOADS || (this.#inFlight.size > 0 && this.#inFlightBytes + image.length > IN_FLIGHT_BYTES)) {
        await Promise.race(this.#inFlight);
      }
      this.#inFlightBytes += image.length;
      const upload: Promise<void> = blob
        .uploadData(image, { blobHTTPHeaders: { blobContentType: `image/${extension}` } })
        .then(
          () => undefined,
          (error: unknown) => {
            this.#failure ??= error;
          },
        )
        .finally(() => {
          this.#inFlight.delete(upload);
          this.#inFlightBytes -= image.length;
        });
      this.#inFlight.add(upload);
      this.#storedBytes += measure.size;
      return { file: `${SCREENSHOTS_FOLDER}/${name}`, size: measure.size, sha256: measure.sha256(), format: measure.format ?? extension };
    }
    try {
      await Promise.all([
        pipeline(content, measure),
        blob.uploadStream(measure, UPLOAD_BUFFER_BYTES, 2, { blobHTTPHeaders: { blobContentType: `image/${extension}` } }),
      ]);
    } catch (error) {
      await blob.deleteIfExists().catch(() => undefined);
      throw measure.problem ? new ScreenshotError(measure.problem) : error;
    }
    this.#storedBytes += measure.size;
    return { file: `${SCREENSHOTS_FOLDER}/${name}`, size: measure.size, sha256: measure.sha256(), format: measure.format ?? extension };
  }

  /** Waits for the uploads in flight; the first that failed is thrown. */
  async flush(): Promise<void> {
    await this.settle();
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Waits for the uploads in flight, whatever became of them (before a cleanup, so that none lands after it). */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async writeManifest(lines: string[]): Promise<number> {
    const body = Buffer.from(lines.map((line) => `${line}\n`).join(''), 'utf8');
    await this.#container
      .getBlockBlobClient(screenshotsManifestBlobName(this.#sessionId))
      .uploadData(body, { blobHTTPHeaders: { blobContentType: 'application/jsonl; charset=utf-8' } });
    this.#storedBytes += body.length;
    return body.length;
  }

  #nameFor(time: number, extension: string): string {
    const stamp = formatIsoTimestamp(time).replace(/[-:]/g, '').replace('+0000', 'Z');
    let name = `${stamp}.${extension}`;
    for (let n = 2; this.#names.has(name); n++) name = `${stamp}-${n}.${extension}`;
    this.#names.add(name);
    return name;
  }
}

/** Passes an image through, counting, hashing and checking it; stops it past MAX_SCREENSHOT_BYTES. */
class MeasureImage extends Transform {
  readonly #hash = createHash('sha256');
  readonly #declared: string;
  #head = Buffer.alloc(0);
  size = 0;
  format: string | undefined;
  problem: string | undefined;

  constructor(declared: string) {
    super();
    this.#declared = declared;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > MAX_SCREENSHOT_BYTES) {
      this.problem = `The screenshot is larger than ${MAX_SCREENSHOT_BYTES} bytes.`;
      callback(new Error(this.problem));
      return;
    }
    if (this.format === undefined && this.#head.length < 12) {
      this.#head = Buffer.concat([this.#head, chunk.subarray(0, 12)]);
      if (this.#head.length >= 12 || this.size === this.#head.length) this.format = imageFormatOf(this.#head);
      if (this.#head.length >= 12 && this.format !== this.#declared) {
        this.problem = `The screenshot's file name says ${this.#declared}, but its content is ${this.format ?? 'not an image'}.`;
        callback(new Error(this.problem));
        return;
      }
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.format !== this.#declared) {
      this.problem = `The screenshot's file name says ${this.#declared}, but its content is ${this.format ?? 'not an image'}.`;
      callback(new Error(this.problem));
      return;
    }
    callback();
  }

  sha256(): string {
    return this.#hash.digest('hex');
  }
}
