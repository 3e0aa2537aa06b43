import { randomUUID } from 'node:crypto';
import type {
  CoreInvocationContext,
  HookData,
  PostInvocationContext,
  PreInvocationContext,
  RpcInvocationRequest,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
  RpcParameterBinding,
  RpcTypedData,
} from './coreTypes.js';
import type { FunctionsCore, RegisteredFunction } from './functionsCore.js';

/**
 * One invocation, step for step as the worker runs it (azure-functions-nodejs-worker
 * src/eventHandlers/InvocationHandler.ts): the library's InvocationModel builds the arguments, preInvocation hooks
 * may swap inputs or the callback, the model invokes, postInvocation hooks may change the result or the error, and
 * the model turns the result into the RPC response. The host never builds HttpRequest or InvocationContext itself.
 */

export interface InvocationInput {
  inputData: RpcParameterBinding[];
  triggerMetadata: Record<string, RpcTypedData>;
}

/** The RPC response plus what the stream mode needs to know whether an HTTP response was produced. */
export interface InvocationOutcome {
  response: RpcInvocationResponse;
  /** The InvocationContext the library built (opaque to the host). */
  context: unknown;
  /** The handler's result after postInvocation hooks. */
  result: unknown;
}

export interface InvokeOptions {
  /** Shown in the "Executing" line, as the Functions host words it. */
  reason: string;
  invocationId?: string;
}

/**
 * `00-<trace id>-<parent id>-01` (https://www.w3.org/TR/trace-context/#traceparent-header), random ids from
 * randomUUID: it draws from a pool of entropy Node keeps, where two randomBytes calls per invocation went to
 * OpenSSL each time (1.5% of the host's CPU profile on GET /v1/users/me). A UUID's fixed version and variant
 * digits leave the ids random enough for tracing, and never all zeros, which the format forbids.
 */
function freshTraceParent(): string {
  const traceId = randomUUID().replaceAll('-', '');
  const parentId = randomUUID().replaceAll('-', '').slice(0, 16);
  return `00-${traceId}-${parentId}-01`;
}

export class FunctionInvoker {
  readonly #core: FunctionsCore;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(core: FunctionsCore) {
    this.#core = core;
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  invoke(fn: RegisteredFunction, input: InvocationInput, options: InvokeOptions): Promise<InvocationOutcome> {
    const run = this.#run(fn, input, options);
    const tracked = run.catch(() => undefined);
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
    return run;
  }

  /** Waits for running invocations, at most `timeoutMs`; answers whether all finished. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inFlight.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
    return true;
  }

  async #run(fn: RegisteredFunction, input: InvocationInput, options: InvokeOptions): Promise<InvocationOutcome> {
    const core = this.#core;
    const programmingModel = core.programmingModel;
    if (!programmingModel) throw new Error('No programming model registered: the app never loaded @azure/functions.');
    const invocationId = options.invocationId ?? randomUUID();
    const hookData: HookData = {};
    let invocationContext: unknown;
    const request: RpcInvocationRequest = {
      invocationId,
      functionId: fn.functionId,
      inputData: input.inputData,
      triggerMetadata: input.triggerMetadata,
      // A fresh W3C trace context per invocation, as the host sends one.
      traceContext: {
        traceParent: freshTraceParent(),
        traceState: '',
        attributes: {},
      },
    };
    const coreCtx: CoreInvocationContext = {
      invocationId,
      request,
      metadata: fn.metadata,
      state: undefined,
      log: (level: RpcLogLevel, category: RpcLogCategory, message: string) =>
        core.log(level, category, message, { functionName: fn.name, hookData, invocationContext }),
    };
    const hostLog = (level: RpcLogLevel, message: string) =>
      core.log(level, 'system', message, { functionName: fn.name, hookData, invocationContext });

    hostLog('information', `Executing 'Functions.${fn.name}' (Reason='${options.reason}', Id=${invocationId})`);
    const started = Date.now();
    try {
      const model = await programmingModel.getInvocationModel(coreCtx);
      const args = await model.getArguments();
      const context = args.context;
      invocationContext = context;

      const preContext: PreInvocationContext = {
        get hookData() {
          return hookData;
        },
        get appHookData() {
          return core.appHookData;
        },
        get invocationContext() {
          return context;
        },
        functionCallback: fn.callback,
        inputs: args.inputs,
      };
      coreCtx.state = 'preInvocationHooks';
      try {
        await core.executeHooks('preInvocation', preContext);
      } finally {
        coreCtx.state = undefined;
      }

      const inputs = preContext.inputs;
      const postContext: PostInvocationContext = {
        get hookData() {
          return hookData;
        },
        get appHookData() {
          return core.appHookData;
        },
        get invocationContext() {
          return context;
        },
        inputs,
        result: null,
        error: null,
      };
      coreCtx.state = 'invocation';
      try {
        postContext.result = await model.invokeFunction(context, inputs, preContext.functionCallback);
      } catch (error) {
        postContext.error = error;
      } finally {
        coreCtx.state = undefined;
      }

      coreCtx.state = 'postInvocationHooks';
      try {
        await core.executeHooks('postInvocation', postContext);
      } finally {
        coreCtx.state = undefined;
      }
      if (postContext.error !== null && postContext.error !== undefined) throw postContext.error;

      const response = await model.getResponse(context, postContext.result);
      hostLog('information', `Executed 'Functions.${fn.name}' (Succeeded, Id=${invocationId}, Duration=${Date.now() - started}ms)`);
      return { response, context, result: postContext.result };
    } catch (error) {
      hostLog('error', `Executed 'Functions.${fn.name}' (Failed, Id=${invocationId}, Duration=${Date.now() - started}ms)`);
      hostLog('error', `Exception while executing function: Functions.${fn.name}. Result: Failure\n${describeError(error)}`);
      throw new FunctionInvocationError(fn.name, invocationId, error);
    }
  }
}

/** A failed invocation, already logged by the invoker; `cause` is what the function (or a hook) threw. */
export class FunctionInvocationError extends Error {
  constructor(
    readonly functionName: string,
    readonly invocationId: string,
    cause: unknown,
  ) {
    super(`Functions.${functionName} failed (Id=${invocationId})`, { cause });
  }
}

/** The error and its stack, without the frames of the library's and the host's own plumbing. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `Exception: ${String(error)}`;
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => !/@azure[\\/]functions[\\/]dist|[\\/]dev[\\/]host[\\/]|node:internal|<anonymous>|new Promise/.test(line));
  return `Exception: ${error.message}\nStack: ${frames.join('\n')}`;
}
