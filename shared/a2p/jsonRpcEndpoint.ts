import { A2A_VERSION_HEADER, Extensions, HTTP_EXTENSION_HEADER } from '@a2a-js/sdk';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { ContentTypeNotSupportedError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import {
  defaultServerCallContextBuilder,
  JsonRpcTransportHandler,
  validateVersion,
  type A2ARequestHandler,
  type RequestHeaders,
} from '@a2a-js/sdk/server';
import type { AuthContext } from '../auth/authenticate.js';
import { freeFormProblem } from '../validation/freeFormObject.js';
import { unstorableTextFields } from '../validation/storableText.js';
import { A2pCaller } from './a2pCaller.js';
import { A2P_LIMITS } from './a2pLimits.js';

/** JSON-RPC 2.0's own codes (https://www.jsonrpc.org/specification#error_object); A2A's are the SDK's. */
export const JSON_RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;
/** A2A 1.0's JSON-RPC methods (0.3 names them message/send, tasks/get...). */
const V1_METHODS = new Set(['SendMessage', 'SendStreamingMessage', 'GetTask', 'ListTasks', 'CancelTask', 'SubscribeToTask']);
const LEGACY_VERSION = '0.3';

export interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcExchange {
  /** The JSON-RPC response object (always HTTP 200: errors are in the body). */
  response: { jsonrpc: '2.0'; id: string | number | null; result?: unknown; error?: JsonRpcError };
  /** For the audit row: what was asked, and which task it concerned when that is known. */
  method: string | null;
  taskId: string | null;
  protocolVersion: string;
  extensionsHeader?: { name: string; value: string };
}

type Envelope = { jsonrpc: '2.0'; id: string | number | null; method: string; params?: unknown };

/**
 * One JSON-RPC request to the A2A request handler, without express (the SDK's express handler does the same
 * steps: content type, JSON, protocol version by the A2A-Version header, absent meaning 0.3, then the 1.0 or the
 * 0.3 transport handler). Unlike the SDK, a body that is JSON but not a JSON-RPC request object (a batch, a scalar,
 * no `jsonrpc: "2.0"`, no method, an id that is neither string, number nor null) is -32600 Invalid Request, as the
 * JSON-RPC specification has it, in both versions. Internal errors are logged and answered without their text.
 */
export async function exchangeJsonRpc(input: {
  handler: A2ARequestHandler;
  headers: Headers;
  body: string;
  auth: AuthContext;
  log: (message: string) => void;
}): Promise<JsonRpcExchange> {
  const versionHeader = input.headers.get(A2A_VERSION_HEADER) || undefined;
  const protocolVersion = versionHeader ?? LEGACY_VERSION;
  const legacy = protocolVersion === LEGACY_VERSION;
  const mapError = legacy
    ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError
    : JsonRpcTransportHandler.mapToJSONRPCError;
  const fail = (id: Envelope['id'], error: JsonRpcError, method: string | null = null): JsonRpcExchange => ({
    response: { jsonrpc: '2.0', id, error },
    method,
    taskId: null,
    protocolVersion,
  });

  const contentType = input.headers.get('content-type');
  if (contentType !== null && contentType.split(';')[0]?.trim().toLowerCase() !== 'application/json') {
    const message = `Content-Type must be application/json, not "${contentType}".`;
    return fail(null, mapError(new ContentTypeNotSupportedError(message)));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(input.body);
  } catch {
    return fail(null, { code: JSON_RPC.parseError, message: 'Parse error: the body is not valid JSON.' });
  }
  const envelope = envelopeOf(parsed);
  if ('problem' in envelope) {
    return fail(envelope.id, { code: JSON_RPC.invalidRequest, message: `Invalid Request: ${envelope.problem}` });
  }
  // Before the SDK or the task store walk it (recursively) or store it: bounded depth, storable text.
  const tooDeep = freeFormProblem(parsed, { maxDepth: A2P_LIMITS.jsonDepth, maxBytes: A2P_LIMITS.requestBytes });
  if (tooDeep) return fail(envelope.id, { code: JSON_RPC.invalidParams, message: `Invalid params: the request ${tooDeep}.` });
  const fields = unstorableTextFields(parsed);
  if (fields.length > 0) {
    // Not even the method is recorded: it may be the text that cannot be stored.
    const message = 'Invalid params: some text cannot be stored (a NUL character, or not well-formed Unicode).';
    return fail(envelope.id, { code: JSON_RPC.invalidParams, message, data: { fields } });
  }

  const extensionsHeader = legacy
    ? (input.headers.get('x-a2a-extensions') ?? input.headers.get('a2a-extensions'))
    : input.headers.get('a2a-extensions');
  const context = defaultServerCallContextBuilder({
    extensions: Extensions.parseServiceParameter(extensionsHeader ?? undefined),
    user: new A2pCaller(input.auth),
    headers: headerRecord(input.headers),
    ...(versionHeader ? { requestedVersion: versionHeader } : {}),
  });
  const requestTaskId = taskIdOfParams(envelope.params);
  let response: JsonRpcExchange['response'];
  try {
    validateVersion(context.requestedVersion, await input.handler.getAgentCard(), 'JSONRPC');
    const transport = legacy ? new LegacyJsonRpcTransportHandler(input.handler) : new JsonRpcTransportHandler(input.handler);
    const out = await transport.handle(envelope as unknown as Record<string, unknown>, context);
    response =
      Symbol.asyncIterator in out
        ? await firstOfStream(out, envelope.id, mapError)
        : (out as JsonRpcExchange['response']);
  } catch (error) {
    response = { jsonrpc: '2.0', id: envelope.id, error: mapError(error) };
  }
  if (legacy && response.error?.code === JSON_RPC.methodNotFound && V1_METHODS.has(envelope.method)) {
    // The usual cause is a client (or an interceptor) that dropped the header, which 1.0 clients always send.
    response = {
      ...response,
      error: {
        ...response.error,
        message:
          `${response.error.message}: without an A2A-Version header a request is A2A 0.3; ` +
          `send A2A-Version: 1.0 for ${envelope.method}.`,
      },
    };
  }
  if (response.error?.code === JSON_RPC.internalError) {
    input.log(`A2P ${envelope.method}: internal error: ${response.error.message}`);
    const message = 'Internal error, or a service is unavailable; retry later (it has been logged).';
    response = { ...response, error: { code: JSON_RPC.internalError, message } };
  }
  const activated = context.activatedExtensions;
  return {
    response,
    method: envelope.method,
    taskId: requestTaskId ?? taskIdOfResult(response.result),
    protocolVersion,
    ...(activated?.length
      ? { extensionsHeader: { name: legacy ? 'X-A2A-Extensions' : HTTP_EXTENSION_HEADER, value: activated.join(',') } }
      : {}),
  };
}

function headerRecord(headers: Headers): RequestHeaders {
  const record: RequestHeaders = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

function envelopeOf(value: unknown): Envelope | { problem: string; id: Envelope['id'] } {
  if (Array.isArray(value)) return { problem: 'batch requests are not supported; send one request per call.', id: null };
  if (typeof value !== 'object' || value === null) {
    return { problem: 'the body must be a JSON-RPC request object.', id: null };
  }
  const request = value as Record<string, unknown>;
  const id = request.id;
  const validId =
    id === undefined || id === null || typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
  const echoId = validId ? ((id ?? null) as Envelope['id']) : null;
  if (request.jsonrpc !== '2.0') return { problem: '"jsonrpc" must be "2.0".', id: echoId };
  if (typeof request.method !== 'string' || request.method === '') {
    return { problem: '"method" must be a string.', id: echoId };
  }
  if (!validId) return { problem: '"id" must be a string, an integer or null.', id: null };
  return { jsonrpc: '2.0', id: echoId, method: request.method, ...('params' in request ? { params: request.params } : {}) };
}

/**
 * The agent card says streaming is off, so the SDK refuses streaming methods on their first event; were one to
 * start anyway it is refused here rather than half-sent.
 */
async function firstOfStream(
  stream: AsyncGenerator<unknown, void, undefined>,
  id: Envelope['id'],
  mapError: (error: unknown) => JsonRpcError,
): Promise<JsonRpcExchange['response']> {
  try {
    await stream.next();
  } catch (error) {
    return { jsonrpc: '2.0', id, error: mapError(error) };
  } finally {
    await stream.return(undefined).catch(() => undefined);
  }
  return { jsonrpc: '2.0', id, error: mapError(new UnsupportedOperationError('Streaming is not supported.')) };
}

const MAX_TASK_ID_LENGTH = 255;

function taskIdOfParams(params: unknown): string | null {
  if (typeof params !== 'object' || params === null) return null;
  const { id, taskId, message } = params as { id?: unknown; taskId?: unknown; message?: { taskId?: unknown } };
  return shortString(id) ?? shortString(taskId) ?? shortString(message?.taskId);
}

function taskIdOfResult(result: unknown): string | null {
  if (typeof result !== 'object' || result === null) return null;
  const { task, kind, id, status } = result as { task?: { id?: unknown }; kind?: unknown; id?: unknown; status?: unknown };
  return shortString(task?.id) ?? (kind === 'task' || status !== undefined ? shortString(id) : null);
}

function shortString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' && value.length <= MAX_TASK_ID_LENGTH ? value : null;
}
