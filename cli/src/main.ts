/**
 * The `tracepipe` command line: argument parsing with commander, one action per command, and the exit codes of
 * cliError.ts. Results go to stdout (a table, or JSON with --json), everything else to stderr.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT_CODES } from './cliError.js';
import { createDatasetCommand, downloadDatasetCommand, getDatasetCommand, DATASET_FORMATS } from './commands/datasets.js';
import { createExampleCommand, downloadExampleCommand, getExampleCommand, MESSAGE_FORMATS } from './commands/examples.js';
import { createKeyCommand, listKeysCommand, loginCommand, revokeKeyCommand, usageCommand } from './commands/account.js';
import { getSessionCommand, listSessionsCommand } from './commands/sessions.js';
import {
  DEFAULT_BLOCK_SIZE_MIB,
  DEFAULT_CONCURRENCY,
  MAX_BLOCK_SIZE_MIB,
  MAX_CONCURRENCY,
  uploadCommand,
} from './commands/upload.js';
import { commandContext, type CommandContext } from './context.js';
import { installSignalHandlers } from './interrupt.js';
import { consoleOutput, printJson } from './output.js';

export const VERSION = '0.1.0';

function integer(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

function fraction(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new InvalidArgumentError('Expected a number.');
  return number;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const TRACE_FORMATS = ['recorder-jsonl', 'tracepipe-jsonl', 'chrome-trace', 'recorder-bundle', 'rrweb'];

function buildProgram(run: (action: (ctx: CommandContext) => Promise<void>) => Promise<void>): Command {
  const program = new Command('tracepipe')
    .description('The Tracepipe API from a terminal: upload recordings, make training examples and datasets.')
    .version(VERSION)
    .option('--json', 'print results as JSON (for scripts)')
    .option('--base-url <url>', 'the API (default: TRACEPIPE_BASE_URL, the config file, or http://127.0.0.1:7071)')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('login')
    .description('check an API key and save it (and the base URL) in the config file')
    .option('--api-key <key>', 'the key (default: read from standard input)')
    .action((options: { apiKey?: string }) =>
      run((ctx) => loginCommand(ctx, { ...options, ...(program.opts().baseUrl ? { baseUrl: program.opts().baseUrl as string } : {}) })),
    );

  program
    .command('upload')
    .description('upload a recording (a file, or a recorder folder zipped on the fly) as a new session; resumes an interrupted one')
    .argument('<path>', 'a trace file, or a recorder folder (input/, screenshot/)')
    .requiredOption('--suite <suite>', 'the suite, by name or id')
    .option('--description <text>', 'free text, at most 2000 characters')
    .addOption(new Option('--format <format>', 'the format, if not to be recognised').choices(TRACE_FORMATS))
    .option('--wait', 'follow indexing and print the result')
    .option('--block-size <MiB>', `staged block size in MiB (1-${MAX_BLOCK_SIZE_MIB})`, integer(1, MAX_BLOCK_SIZE_MIB), DEFAULT_BLOCK_SIZE_MIB)
    .option('--concurrency <n>', `blocks in flight (1-${MAX_CONCURRENCY})`, integer(1, MAX_CONCURRENCY), DEFAULT_CONCURRENCY)
    .action((path: string, options: { suite: string; description?: string; format?: string; wait?: boolean; blockSize: number; concurrency: number }) =>
      run((ctx) => uploadCommand(ctx, path, { ...options, blockSize: options.blockSize * 1024 * 1024 })),
    );

  const sessions = program.command('sessions').description('your sessions');
  sessions
    .command('list')
    .option('--suite <suite>', 'only this suite (name or id)')
    .option('--page <n>', 'page', integer(1, 1e9), 1)
    .option('--per-page <n>', 'per page (1-100)', integer(1, 100), 20)
    .action((options: { suite?: string; page: number; perPage: number }) => run((ctx) => listSessionsCommand(ctx, options)));
  sessions.command('get').argument('<id>').action((id: string) => run((ctx) => getSessionCommand(ctx, id)));

  const examples = program.command('examples').description('training examples');
  examples
    .command('create')
    .requiredOption('--session <id>', 'a ready session')
    .requiredOption('--model <model>', 'provider/name (openai/gpt-4o) or id')
    .option('--action-tool-map <id>', "the map to use (default: the suite's only one)")
    .option('--config <json>', 'model_configuration, a JSON object')
    .option('--wait', 'wait until it is COMPLETED or FAILED')
    .action((options: { session: string; model: string; actionToolMap?: string; config?: string; wait?: boolean }) =>
      run((ctx) => createExampleCommand(ctx, options)),
    );
  examples.command('get').argument('<id>').action((id: string) => run((ctx) => getExampleCommand(ctx, id)));
  examples
    .command('download')
    .argument('<id>')
    .addOption(new Option('--format <format>', 'training format').choices([...MESSAGE_FORMATS]).default('raw'))
    .option('-o, --output <file>', 'write to this file (default: standard output)')
    .action((id: string, options: { format: string; output?: string }) => run((ctx) => downloadExampleCommand(ctx, id, options)));

  const datasets = program.command('datasets').description('datasets of completed examples');
  datasets
    .command('create')
    .requiredOption('--name <name>', 'a name')
    .addOption(new Option('--format <format>', 'training format').choices([...DATASET_FORMATS]).makeOptionMandatory())
    .option('--suite <suite>', 'only this suite (name or id)')
    .option('--session <id>', 'only these sessions (repeat it)', collect)
    .option('--model <model>', 'only this model')
    .option('--created-after <time>', 'ISO 8601')
    .option('--created-before <time>', 'ISO 8601')
    .option('--validation-split <fraction>', '0 to 0.5', fraction)
    .option('--seed <n>', 'the shuffle seed', integer(0, 2147483647))
    .option('--no-dedupe', 'keep duplicate conversations')
    .option('--wait', 'wait until it is built')
    .action((options: Parameters<typeof createDatasetCommand>[1]) => run((ctx) => createDatasetCommand(ctx, options)));
  datasets.command('get').argument('<id>').action((id: string) => run((ctx) => getDatasetCommand(ctx, id)));
  datasets
    .command('download')
    .argument('<id>')
    .addOption(new Option('--file <file>', 'which file').choices(['train', 'validation']).default('train'))
    .option('-o, --output <file>', 'write to this file (default: standard output)')
    .action((id: string, options: { file: string; output?: string }) => run((ctx) => downloadDatasetCommand(ctx, id, options)));

  program
    .command('usage')
    .description("this month's usage and estimated cost")
    .option('--suite <suite>', 'only this suite')
    .option('--period <YYYY-MM>', 'another month')
    .action((options: { suite?: string; period?: string }) => run((ctx) => usageCommand(ctx, options)));

  const keys = program.command('keys').description('API keys');
  keys
    .command('list')
    .option('--page <n>', 'page', integer(1, 1e9), 1)
    .option('--per-page <n>', 'per page (1-100)', integer(1, 100), 20)
    .action((options: { page: number; perPage: number }) => run((ctx) => listKeysCommand(ctx, options)));
  keys
    .command('create')
    .option('--name <name>', 'a name')
    .option('--scope <scope>', 'api, catalog:write or pipeline (repeat it)', collect)
    .option('--suite <suite>', 'limit the key to this suite (repeat it)', collect)
    .action((options: { name?: string; scope?: string[]; suite?: string[] }) => run((ctx) => createKeyCommand(ctx, options)));
  keys.command('revoke').argument('<id>').action((id: string) => run((ctx) => revokeKeyCommand(ctx, id)));
  return program;
}

function report(error: CliError, json: boolean): void {
  if (json) printJson(consoleOutput(true), { error: { code: error.code, message: error.message, details: error.details ?? {} } });
  process.stderr.write(`tracepipe: ${error.kind === 'api' ? `error ${error.code}` : error.code}: ${error.message}\n`);
}

/** Runs the command line; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  installSignalHandlers();
  const json = argv.includes('--json');
  let failure: unknown;
  const program = buildProgram(async (action) => {
    const opts = program.opts<{ json?: boolean; baseUrl?: string }>();
    const ctx = commandContext(consoleOutput(opts.json === true), () => ({ baseUrl: opts.baseUrl }));
    try {
      await action(ctx);
    } catch (error) {
      failure = error;
    }
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end well; anything else commander refused (already printed) is a usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT_CODES.ok;
      if (json) printJson(consoleOutput(true), { error: { code: 'usage_error', message: error.message, details: {} } });
      return EXIT_CODES.usage;
    }
    failure = error;
  }
  if (failure === undefined) return EXIT_CODES.ok;
  if (failure instanceof CliError) {
    report(failure, json);
    return failure.exitCode;
  }
  process.stderr.write(`tracepipe: unexpected failure: ${(failure as Error).stack ?? String(failure)}\n`);
  return EXIT_CODES.failure;
}
