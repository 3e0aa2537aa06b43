/**
 * How the CLI ends, for scripts: one exit code per kind of outcome (README, "The tracepipe CLI"). Every failure
 * is a CliError by the time it reaches main(), which prints it (as the contract's error shape with --json) and
 * exits with its code.
 */
export const EXIT_CODES = {
  ok: 0,
  /** Something unexpected: a bug, a local file that cannot be read. */
  failure: 1,
  /** Bad arguments or options, no API key configured: nothing was sent. */
  usage: 2,
  /** The API answered with an error; its `code` is printed. */
  api: 3,
  /** The work was done but its result is a failure: a session `invalid`, an example `FAILED`, a dataset `failed`. */
  rejected: 4,
  /** The API or storage could not be reached (after retries). */
  network: 5,
  /** Interrupted (SIGINT, Ctrl-C): 128 + 2, as shells report it. An upload resumes when run again. */
  interrupted: 130,
  /** Terminated (SIGTERM): 128 + 15. */
  terminated: 143,
} as const;

export type ExitKind = keyof typeof EXIT_CODES;

export class CliError extends Error {
  constructor(
    readonly kind: Exclude<ExitKind, 'ok'>,
    message: string,
    /** The API's error code (kind `api`), or the CLI's own (`usage_error`, `interrupted`, ...). */
    readonly code: string = kind === 'usage' ? 'usage_error' : kind,
    readonly details?: unknown,
  ) {
    super(message);
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }

  static usage(message: string): CliError {
    return new CliError('usage', message);
  }
}
