/** `tracepipe usage`, `tracepipe keys list|create|revoke`, `tracepipe login`. */
import { createInterface } from 'node:readline/promises';
import { createTracepipeClient } from '../../../clients/typescript/src/index.js';
import { resolveSuiteId, unwrap, USER_AGENT } from '../api.js';
import { CliError } from '../cliError.js';
import type { CommandContext } from '../context.js';
import { printFields, printResult, printTable } from '../output.js';
import { configPath, readStoredConfig, resolveSettings, writeStoredConfig } from '../settings.js';

export async function usageCommand(ctx: CommandContext, options: { suite?: string; period?: string }) {
  const api = ctx.api();
  const suiteId = options.suite === undefined ? undefined : await resolveSuiteId(api, options.suite);
  const usage = await unwrap(
    api,
    api.client.GET('/v1/usage', {
      params: { query: { ...(suiteId ? { suite_id: suiteId } : {}), ...(options.period ? { period: options.period } : {}) } },
    }),
  );
  printResult(ctx.out, usage, () => {
    const cost = usage.estimated_cost;
    const money = (minor: number) => `${(minor / 100).toFixed(2)} ${cost.currency.toUpperCase()}`;
    printFields(ctx.out, [
      ['period', `${usage.billing_period.start} to ${usage.billing_period.end}`],
      ['tokens', usage.tokens.total],
      ...Object.entries(usage.tokens.by_model).map(([model, tokens]): [string, number] => [`  ${model}`, tokens]),
      ['storage', `${usage.storage.gb_hours} GB-hours (${usage.storage.current_gb} GB now)`],
      ['sessions uploaded', usage.sessions_uploaded],
      ['examples generated', usage.examples_generated],
      ['estimated cost', `${money(cost.total)} (tokens ${money(cost.tokens)}, storage ${money(cost.storage)})`],
    ]);
  });
}

export async function listKeysCommand(ctx: CommandContext, options: { page: number; perPage: number }) {
  const api = ctx.api();
  const page = await unwrap(api, api.client.GET('/v1/api-keys', { params: { query: { page: options.page, per_page: options.perPage } } }));
  printResult(ctx.out, page, () =>
    printTable(ctx.out, page.items, [
      { header: 'id', value: (key) => key.id },
      { header: 'prefix', value: (key) => key.prefix },
      { header: 'name', value: (key) => key.name },
      { header: 'scopes', value: (key) => key.scopes.join(',') },
      { header: 'suites', value: (key) => (key.suite_ids === null ? 'all' : key.suite_ids.length) },
      { header: 'last used', value: (key) => key.last_used_at },
      { header: 'created', value: (key) => key.created_at },
    ]),
  );
}

export async function createKeyCommand(ctx: CommandContext, options: { name?: string; scope?: string[]; suite?: string[] }) {
  const api = ctx.api();
  const suiteIds = options.suite === undefined ? undefined : await Promise.all(options.suite.map((suite) => resolveSuiteId(api, suite)));
  const created = await unwrap(
    api,
    api.client.POST('/v1/api-keys', {
      body: {
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(options.scope !== undefined ? { scopes: options.scope as Array<'api' | 'catalog:write' | 'pipeline'> } : {}),
        ...(suiteIds !== undefined ? { suite_ids: suiteIds } : {}),
      },
    }),
  );
  printResult(ctx.out, created, () => {
    printFields(ctx.out, [
      ['id', created.id],
      ['name', created.name],
      ['scopes', created.scopes.join(', ')],
      ['key', created.key],
    ]);
    ctx.out.log('The key is shown once: keep it now.');
  });
}

export async function revokeKeyCommand(ctx: CommandContext, id: string) {
  const api = ctx.api();
  await unwrap(api, api.client.DELETE('/v1/api-keys/{id}', { params: { path: { id } } }));
  printResult(ctx.out, { id, revoked: true }, () => ctx.out.log(`key ${id} revoked`));
}

async function readKey(): Promise<string> {
  const lines = createInterface({ input: process.stdin, output: process.stdin.isTTY ? process.stderr : undefined, terminal: false });
  try {
    if (process.stdin.isTTY) process.stderr.write('API key (tp_live_sk_...): ');
    for await (const line of lines) return line.trim();
    return '';
  } finally {
    lines.close();
  }
}

/** Checks the key against the API (GET /v1/users/me) before writing it, so a typo is found now. */
export async function loginCommand(ctx: CommandContext, options: { apiKey?: string; baseUrl?: string }) {
  const stored = readStoredConfig();
  const baseUrl = resolveSettings({ baseUrl: options.baseUrl }, { ...process.env, TRACEPIPE_API_KEY: '' }).baseUrl;
  const apiKey = options.apiKey ?? (await readKey());
  if (!apiKey) throw CliError.usage('No API key given (--api-key, or on standard input).');
  const client = createTracepipeClient({ baseUrl, apiKey, userAgent: USER_AGENT });
  const me = await unwrap({ client, baseUrl }, client.GET('/v1/users/me'));
  writeStoredConfig({ ...stored, api_key: apiKey, base_url: baseUrl });
  printResult(ctx.out, { user: me, base_url: baseUrl, config: configPath() }, () =>
    ctx.out.log(`logged in to ${baseUrl} as ${me.display_name ?? me.email ?? me.id}; saved in ${configPath()}`),
  );
}
