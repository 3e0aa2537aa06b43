/**
 * A fetch that waits and tries again where the API says so: 429 `rate_limited` after its `Retry-After` (the
 * contract sends it in seconds), 503 `unavailable` after its `Retry-After` or else an exponential backoff, and a
 * connection that failed outright (the API restarting) with the same backoff. Anything else is the caller's
 * answer. The request is cloned before each try, so a body is sent whole every time.
 */
export interface RetryOptions {
  /** Tries in all, the first included (default 5). */
  attempts?: number;
  /** The first backoff, doubled at each try (default 500 ms). */
  baseDelayMs?: number;
  /** The longest wait between two tries, whatever Retry-After asks (default 60 s). */
  maxDelayMs?: number;
  /** Told before each wait (the CLI prints it). */
  onRetry?: (info: { status: number | 'network'; attempt: number; delayMs: number }) => void;
  fetch?: (input: Request) => Promise<Response>;
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

export const DEFAULT_RETRY_ATTEMPTS = 5;
export const DEFAULT_MAX_RETRY_DELAY_MS = 60_000;

function sleepFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After as seconds (the contract's form) or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function retryingFetch(options: RetryOptions = {}): (input: Request) => Promise<Response> {
  const attempts = options.attempts ?? DEFAULT_RETRY_ATTEMPTS;
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
  const send = options.fetch ?? ((input: Request) => globalThis.fetch(input));
  const sleep = options.sleep ?? sleepFor;
  return async (request: Request) => {
    for (let attempt = 1; ; attempt += 1) {
      const last = attempt >= attempts;
      const backoff = Math.min(max, base * 2 ** (attempt - 1));
      let response: Response;
      try {
        response = await send(last ? request : request.clone());
      } catch (error) {
        // An abort is the caller's decision, not a failure to retry.
        if (last || request.signal.aborted) throw error;
        options.onRetry?.({ status: 'network', attempt, delayMs: backoff });
        await sleep(backoff, request.signal);
        continue;
      }
      if (last || (response.status !== 429 && response.status !== 503)) return response;
      const asked = retryAfterMs(response.headers.get('retry-after'));
      const delayMs = Math.min(max, asked ?? (response.status === 429 ? base : backoff));
      await response.body?.cancel();
      options.onRetry?.({ status: response.status, attempt, delayMs });
      await sleep(delayMs, request.signal);
    }
  };
}
