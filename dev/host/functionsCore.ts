import Module from 'node:module';
import type {
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  HookContext,
  HookData,
  HookName,
  LogHookContext,
  ProgrammingModel,
  RpcBindingInfo,
  RpcFunctionMetadata,
  RpcLogCategory,
  RpcLogLevel,
} from './coreTypes.js';
import type { HostLogger } from './hostLog.js';

/**
 * The `@azure/functions-core` module, as the Node.js worker provides it
 * (azure-functions-nodejs-worker src/setupCoreModule.ts): `@azure/functions` requires it lazily and, finding it,
 * hands over its ProgrammingModel, every `app.http/timer/...` registration and every `app.hook.*` callback.
 */

export interface RegisteredFunction {
  name: string;
  functionId: string;
  metadata: RpcFunctionMetadata & { name: string; bindings: Record<string, RpcBindingInfo> };
  callback: FunctionCallback;
  triggerBindingName: string;
  trigger: RpcBindingInfo & { type: string };
}

/** Where a log line came from: an invocation's context, so that log hooks see it and the line names the function. */
export interface InvocationLogScope {
  functionName: string;
  hookData: HookData;
  invocationContext: unknown;
}

export class Disposable {
  #callOnDispose: () => unknown;
  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }
  static from(...disposables: Array<{ dispose: () => unknown }>): Disposable {
    return new Disposable(() => disposables.forEach((d) => d.dispose()));
  }
  dispose(): unknown {
    return this.#callOnDispose();
  }
}

export class FunctionsCore {
  readonly functions = new Map<string, RegisteredFunction>();
  programmingModel: ProgrammingModel | undefined;
  /** Shared by all hooks (worker: `appHookData`). */
  readonly appHookData: HookData = {};
  /** Shared by appStart/appTerminate hooks only (worker: `appLevelOnlyHookData`). */
  readonly appLevelOnlyHookData: HookData = {};
  readonly #hooks: Record<HookName, HookCallback[]> = {
    preInvocation: [],
    postInvocation: [],
    appStart: [],
    appTerminate: [],
    log: [],
  };
  #startupFinished = false;
  readonly #logger: HostLogger;

  constructor(logger: HostLogger) {
    this.#logger = logger;
  }

  /** The object `require('@azure/functions-core')` returns. */
  createApi(): Record<string, unknown> {
    return {
      version: '3.12.0-local',
      hostVersion: '4.1000.0-local',
      registerHook: (hookName: string, callback: HookCallback) => this.registerHook(hookName, callback),
      setProgrammingModel: (model: ProgrammingModel) => {
        this.programmingModel = model;
      },
      getProgrammingModel: () => this.programmingModel,
      registerFunction: (metadata: FunctionMetadata, callback: FunctionCallback) =>
        this.registerFunction(metadata, callback),
      log: (level: RpcLogLevel, category: RpcLogCategory, message: string) => this.log(level, category, message),
      Disposable,
    };
  }

  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
    if (this.#startupFinished) throw new Error('A function can only be registered during app startup.');
    const name = metadata.name;
    const functionId = metadata.functionId ?? name;
    if (this.functions.has(name)) throw new Error(`A function named "${name}" is already registered.`);
    const entry = Object.entries(metadata.bindings).find(([, b]) => typeof b.type === 'string' && /trigger$/i.test(b.type));
    if (!entry) throw new Error(`Function "${name}" has no trigger binding.`);
    const [triggerBindingName, trigger] = entry;
    this.functions.set(name, {
      name,
      functionId,
      metadata: {
        name,
        functionId,
        bindings: metadata.bindings,
        // What the host reads (worker: coreApi/registerFunction.ts); kept for the admin listing.
        rawBindings: Object.entries(metadata.bindings).map(([bindingName, b]) => JSON.stringify({ ...b, name: bindingName })),
        scriptFile: 'n/a',
      },
      callback,
      triggerBindingName,
      trigger: { ...trigger, type: String(trigger.type) },
    });
    return new Disposable(() => {
      if (this.#startupFinished) throw new Error('A function can only be disposed during app startup.');
      this.functions.delete(name);
    });
  }

  registerHook(hookName: string, callback: HookCallback): Disposable {
    if (!(hookName in this.#hooks)) {
      // The worker throws a RangeError for unknown hooks; the library relies on that for version checks.
      const error = new RangeError(`Unrecognized hook "${hookName}"`);
      throw Object.assign(error, { isAzureFunctionsSystemError: true });
    }
    const list = this.#hooks[hookName as HookName];
    list.push(callback);
    return new Disposable(() => {
      const index = list.indexOf(callback);
      if (index >= 0) list.splice(index, 1);
    });
  }

  finishStartup(): void {
    this.#startupFinished = true;
  }

  /** Runs hooks in registration order; a throwing hook stops the chain, as in the worker (hooks/executeHooks.ts). */
  async executeHooks(hookName: Exclude<HookName, 'log'>, context: HookContext): Promise<void> {
    for (const callback of [...this.#hooks[hookName]]) {
      await callback(context);
    }
  }

  /**
   * Every log line passes through here: log hooks may rewrite user lines (not system ones), as in the worker's
   * WorkerContext.log; then the line is printed under the function's name, or `[host]` outside invocations.
   */
  log(level: RpcLogLevel, category: RpcLogCategory, message: string, scope?: InvocationLogScope): void {
    const appHookData = this.appHookData;
    const hookContext: LogHookContext = {
      level,
      message,
      category,
      hookData: scope?.hookData ?? {},
      appHookData,
      invocationContext: scope?.invocationContext,
    };
    try {
      for (const callback of this.#hooks.log) void callback(hookContext);
    } catch {
      // A user's log hook must not be able to suppress logging (worker does the same).
    }
    const finalLevel = category === 'user' ? hookContext.level : level;
    const finalMessage = category === 'user' ? hookContext.message : message;
    if (scope) this.#logger.forFunction(scope.functionName, finalLevel, category, finalMessage);
    else this.#logger.system(finalLevel, finalMessage);
  }
}

let installed: Record<string, unknown> | undefined;

/**
 * Makes `require('@azure/functions-core')` answer with the host's API, the way the worker does: a Proxy on
 * Module.prototype.require, installed before the app (and so `@azure/functions`) is loaded. `@azure/functions` is
 * CommonJS, so even an ESM app reaches it through this require. One app per process: the library keeps module state.
 */
export function installCoreModule(api: Record<string, unknown>): void {
  if (installed) throw new Error('The local Functions host can load only one app per process.');
  installed = api;
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  proto.require = new Proxy(proto.require, {
    apply(target, thisArg, args: unknown[]) {
      if (args[0] === '@azure/functions-core') return installed;
      return Reflect.apply(target, thisArg, args) as unknown;
    },
  });
}
