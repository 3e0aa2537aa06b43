/** `tracepipe examples create|get|download`. */
import type { Schemas } from '../../../clients/typescript/src/index.js';
import { resolveModelId, unwrap } from '../api.js';
import { CliError } from '../cliError.js';
import type { CommandContext } from '../context.js';
import { downloadTo } from '../download.js';
import { interruptible } from '../interrupt.js';
import { printFields, printResult } from '../output.js';
import { pollUntil } from '../waitFor.js';

type Example = Schemas['Example'];
export const MESSAGE_FORMATS = ['raw', 'openai', 'vertex', 'anthropic', 'trl'] as const;

function printExample(ctx: CommandContext, example: Example) {
  printFields(ctx.out, [
    ['example', example.id],
    ['status', example.status],
    ['session', example.session_id],
    ['model', example.model_id],
    ['action-tool map', example.action_tool_map_id],
    ['tokens', example.usage ? `${example.usage.total_tokens} (${example.usage.input_tokens} in, ${example.usage.output_tokens} out)` : null],
    ['error', example.error],
    ['created', example.created_at],
    ['completed', example.completed_at],
  ]);
}

function settled(example: Example): boolean {
  return example.status === 'COMPLETED' || example.status === 'FAILED';
}

export async function createExampleCommand(
  ctx: CommandContext,
  options: { session: string; model: string; actionToolMap?: string; config?: string; wait?: boolean },
) {
  let configuration: Record<string, unknown> | undefined;
  if (options.config !== undefined) {
    try {
      configuration = JSON.parse(options.config) as Record<string, unknown>;
    } catch {
      throw CliError.usage('--config must be a JSON object, e.g. \'{"temperature":0}\'.');
    }
    if (typeof configuration !== 'object' || configuration === null || Array.isArray(configuration)) {
      throw CliError.usage('--config must be a JSON object.');
    }
  }
  const api = ctx.api();
  const modelId = await resolveModelId(api, options.model);
  let example = await unwrap(
    api,
    api.client.POST('/v1/examples', {
      body: {
        session_id: options.session,
        model_id: modelId,
        ...(options.actionToolMap ? { action_tool_map_id: options.actionToolMap } : {}),
        ...(configuration ? { model_configuration: configuration } : {}),
      },
    }),
  );
  if (options.wait) {
    ctx.out.log(`example ${example.id} created; waiting for the pipelines service...`);
    example = await interruptible((signal) =>
      pollUntil(() => unwrap(api, api.client.GET('/v1/examples/{id}', { params: { path: { id: example.id } } })), settled, signal),
    );
  }
  printResult(ctx.out, example, () => printExample(ctx, example));
  if (example.status === 'FAILED') throw new CliError('rejected', `Example ${example.id} failed: ${example.error ?? 'no reason given'}.`, 'example_failed');
}

export async function getExampleCommand(ctx: CommandContext, id: string) {
  const api = ctx.api();
  const example = await unwrap(api, api.client.GET('/v1/examples/{id}', { params: { path: { id } } }));
  printResult(ctx.out, example, () => printExample(ctx, example));
}

export async function downloadExampleCommand(ctx: CommandContext, id: string, options: { format: string; output?: string }) {
  if (!(MESSAGE_FORMATS as readonly string[]).includes(options.format)) {
    throw CliError.usage(`--format must be one of ${MESSAGE_FORMATS.join(', ')}.`);
  }
  const api = ctx.api();
  const format = options.format as (typeof MESSAGE_FORMATS)[number];
  await downloadTo(
    ctx,
    api,
    () => api.client.GET('/v1/examples/{id}/messages', { params: { path: { id }, query: { format } }, parseAs: 'stream' }),
    options.output,
    { example_id: id, format },
  );
}

