import { createHash } from 'node:crypto';
import { JsonlObjectReader, LineErrors, type LineError } from '../jsonl/jsonlObjectReader.js';
import { ConversationCanonicalizer, type CanonicalMessage } from './conversationCanonicalizer.js';

/**
 * Checks a whole `messages.jsonl` as it streams by (see conversationCanonicalizer.ts for what a line may be), in
 * memory bounded by one line and the example's call ids, and hands each accepted line on in canonical form.
 */
export const MAX_REPORTED_MESSAGE_ERRORS = 20;

export interface MessagesCheck {
  valid: boolean;
  messageCount: number;
  sizeBytes: number;
  /** The first MAX_REPORTED_MESSAGE_ERRORS, in line order; line 0 is the file as a whole. */
  errors: LineError[];
  errorCount: number;
  /** The canonical file differs from the bytes read (another tool-call form, CRLF, spacing...). */
  changed: boolean;
  /** The normalized conversation's digest (ConversationCanonicalizer.digest). */
  conversationSha256: string;
}

export interface CheckOptions {
  /** The names of the example's tools (its action-tool map's); a call naming another is refused. null: any. */
  toolNames: ReadonlySet<string> | null;
  /** Receives each accepted line, canonical, with its newline (only meaningful when the whole file is valid). */
  onCanonicalLine?: (line: string) => void;
  /** Receives each accepted message. */
  onMessage?: (message: CanonicalMessage) => void;
  /**
   * false: neither the conversation's digest nor whether the file is canonical is worked out (both answer as
   * empty), for a reader that only needs the messages.
   */
  digests?: boolean;
}

export function canonicalLine(message: CanonicalMessage): string {
  return `${JSON.stringify(message)}\n`;
}

export async function checkTrainingMessages(
  stream: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: CheckOptions,
): Promise<MessagesCheck> {
  const errors = new LineErrors(MAX_REPORTED_MESSAGE_ERRORS);
  const error = (line: number, message: string) => errors.add(line, message);
  const digests = options.digests ?? true;
  const canonicalizer = new ConversationCanonicalizer(options.toolNames, digests);
  // Same bytes in and out (same digest) means the file is stored canonical already.
  const input = digests ? createHash('sha256') : null;
  const output = digests ? createHash('sha256') : null;
  let messageCount = 0;
  const reader = new JsonlObjectReader({
    object(line, value) {
      const accepted = canonicalizer.accept(value);
      if ('problem' in accepted) {
        error(line, accepted.problem);
        return;
      }
      messageCount++;
      if (output || options.onCanonicalLine) {
        const text = canonicalLine(accepted.message);
        output?.update(text);
        options.onCanonicalLine?.(text);
      }
      options.onMessage?.(accepted.message);
    },
    error,
  });
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    input?.update(bytes);
    reader.push(bytes);
  }
  reader.finish();
  if (reader.sizeBytes === 0) error(0, 'The file is empty: an example needs at least one message.');
  return {
    valid: errors.count === 0,
    messageCount,
    sizeBytes: reader.sizeBytes,
    errors: errors.kept,
    errorCount: errors.count,
    changed: input !== null && output !== null && input.digest('hex') !== output.digest('hex'),
    conversationSha256: digests ? canonicalizer.digest() : '',
  };
}
