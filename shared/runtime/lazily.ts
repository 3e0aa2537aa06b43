/**
 * A value made on first use and kept: for the heavy SDKs (Stripe, the Azure identity and storage clients, MCP, JOSE)
 * that only some functions use. Importing the functions entry is the Azure cold start; every module loaded there
 * costs every instance, whatever it serves. A failed load is not kept, so that the next call tries again.
 */
export function lazily<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= make().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
