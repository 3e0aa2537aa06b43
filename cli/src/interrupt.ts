/**
 * Ctrl-C and SIGTERM. Outside work that can stop cleanly the CLI exits at once with 130 (143); inside it (an
 * upload) the signal aborts the work, which saves what it must (the staged blocks are already recorded) and ends
 * with the same code. A second Ctrl-C exits at once.
 */
import { CliError, EXIT_CODES } from './cliError.js';

let active: AbortController | undefined;
let signalled = false;

function onSignal(signal: 'SIGINT' | 'SIGTERM'): void {
  const kind = signal === 'SIGINT' ? 'interrupted' : 'terminated';
  if (active && !signalled) {
    signalled = true;
    active.abort(new CliError(kind, `${signal === 'SIGINT' ? 'Interrupted' : 'Terminated'}.`));
    return;
  }
  process.stderr.write(`\n${kind}\n`);
  process.exit(EXIT_CODES[kind]);
}

export function installSignalHandlers(): void {
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

/** Runs work that stops cleanly on a signal: its signal aborts, and the abort's reason is the CliError to end with. */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  active = controller;
  try {
    return await work(controller.signal);
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    active = undefined;
  }
}
