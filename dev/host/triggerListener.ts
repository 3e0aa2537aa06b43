/** What the host keeps for each non-HTTP function: its poller or schedule, and the admin API's "run it now". */
export interface TriggerListener {
  readonly functionName: string;
  start(): Promise<void>;
  /** Stops polling or scheduling and waits (bounded by the caller) for the work already started. */
  stop(): Promise<void>;
  /** `POST /admin/functions/<name>` with `{ "input": ... }`; resolves when the invocation has ended. */
  invokeFromAdmin(input: string): Promise<void>;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function statusCodeOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error ? Number(error.statusCode) : undefined;
}
