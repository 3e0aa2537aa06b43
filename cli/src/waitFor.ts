/** Following work the API does in the background (indexing, an example, a dataset) until it settles. */
export const POLL_FIRST_MS = 500;
export const POLL_MAX_MS = 5_000;

export async function pollUntil<T>(read: () => Promise<T>, settled: (value: T) => boolean, signal: AbortSignal): Promise<T> {
  let delay = POLL_FIRST_MS;
  for (;;) {
    const value = await read();
    if (settled(value)) return value;
    await new Promise<void>((resolveSleep, reject) => {
      const timer = setTimeout(resolveSleep, delay);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
    delay = Math.min(POLL_MAX_MS, delay * 1.5);
  }
}
