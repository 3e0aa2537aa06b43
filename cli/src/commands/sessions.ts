/** `tracepipe sessions list|get`. */
import { resolveSuiteId, unwrap } from '../api.js';
import type { CommandContext } from '../context.js';
import { formatBytes, printResult, printTable } from '../output.js';
import { printSession } from './upload.js';

export async function listSessionsCommand(ctx: CommandContext, options: { suite?: string; page: number; perPage: number }) {
  const api = ctx.api();
  const suiteId = options.suite === undefined ? undefined : await resolveSuiteId(api, options.suite);
  const page = await unwrap(
    api,
    api.client.GET('/v1/sessions', {
      params: { query: { page: options.page, per_page: options.perPage, ...(suiteId ? { suite_id: suiteId } : {}) } },
    }),
  );
  printResult(ctx.out, page, () => {
    printTable(ctx.out, page.items, [
      { header: 'id', value: (session) => session.id },
      { header: 'status', value: (session) => session.status },
      { header: 'format', value: (session) => session.format },
      { header: 'events', value: (session) => session.event_count },
      { header: 'size', value: (session) => formatBytes(session.size_bytes) },
      { header: 'created', value: (session) => session.created_at },
      { header: 'description', value: (session) => session.description },
    ]);
    ctx.out.log(`page ${page.page} of ${Math.max(1, Math.ceil(page.total / page.per_page))} (${page.total} sessions)`);
  });
}

export async function getSessionCommand(ctx: CommandContext, id: string) {
  const api = ctx.api();
  const session = await unwrap(api, api.client.GET('/v1/sessions/{id}', { params: { path: { id } } }));
  printResult(ctx.out, session, () => printSession(ctx, session));
}
