import { pathToFileURL } from 'node:url';
import { RESENDABLE_RESOLUTIONS, resendUsage } from '../shared/billing/resendUsage.js';
import type { UsageKind } from '../shared/billing/meterEvents.js';
import { createDatabase } from '../shared/db/database.js';
import { consoleOutput, type CommandOutput } from './commandOutput.js';

/*
 * `npm run billing:resend -- [--kind tokens|storage] [--resolution rejected,async_rejected,...] [--user <id>]
 * [--dry-run]`, against DATABASE_URL: usage rows the Stripe sync gave up on go back to it (see
 * shared/billing/resendUsage.ts). By default both kinds and every resolution a fix can heal. Exit codes: 0 done,
 * 1 the database failed, 2 wrong usage or missing setting.
 */

const USAGE =
  'usage: billing:resend [--kind tokens|storage] [--resolution ' + RESENDABLE_RESOLUTIONS.join(',') + '] [--user <uuid>] [--dry-run]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KNOWN = new Set<string>([...RESENDABLE_RESOLUTIONS, 'reconcile_ambiguous']);

interface Options {
  kinds: UsageKind[];
  resolutions: string[];
  userId?: string;
  dryRun: boolean;
}

function parseOptions(argv: readonly string[]): Options | string {
  const options: Options = { kinds: ['tokens', 'storage'], resolutions: [...RESENDABLE_RESOLUTIONS], dryRun: false };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = argv[index + 1];
    if (flag === '--dry-run') {
      options.dryRun = true;
    } else if (flag === '--kind' && (value === 'tokens' || value === 'storage')) {
      options.kinds = [value];
      index++;
    } else if (flag === '--resolution' && value) {
      const resolutions = value.split(',').map((part) => part.trim());
      const unknown = resolutions.filter((resolution) => !KNOWN.has(resolution));
      if (unknown.length > 0) return `unknown resolution: ${unknown.join(', ')}`;
      options.resolutions = resolutions;
      index++;
    } else if (flag === '--user' && value && UUID.test(value)) {
      options.userId = value;
      index++;
    } else {
      return `unexpected argument: ${flag ?? ''}`;
    }
  }
  return options;
}

export async function runBillingResendCommand(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  out: CommandOutput,
): Promise<number> {
  const options = parseOptions(argv);
  if (typeof options === 'string') {
    out.error(options);
    out.error(USAGE);
    return 2;
  }
  if (!env.DATABASE_URL) {
    out.error('DATABASE_URL is not set');
    return 2;
  }
  const db = createDatabase({ connectionString: env.DATABASE_URL, poolMax: 1 });
  try {
    const counts = await resendUsage(db, options);
    const verb = options.dryRun ? 'would be resent' : 'handed back to the Stripe sync';
    out.log(`tokens: ${counts.tokens} rows ${verb}; storage: ${counts.storage} rows ${verb} (${options.resolutions.join(', ')})`);
    if (!options.dryRun) out.log('The next syncUsageToStripe run sends them (or POST /admin/functions/syncUsageToStripe locally).');
    return 0;
  } catch (error) {
    out.error(`billing:resend failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await db.destroy();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  process.exitCode = await runBillingResendCommand(process.argv.slice(2), process.env, consoleOutput);
}
