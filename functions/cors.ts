import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { corsResponseHeaders, isPreflight } from '../shared/http/cors.js';
import { appDeps } from '../shared/runtime/appDeps.js';

/**
 * Every HTTP function's answer to a browser of an allowed origin (CORS_ALLOWED_ORIGINS) carries the CORS response
 * headers, whichever function answered and however (JSON, a stream, an error in the contract's shape): one
 * postInvocation hook rather than a header in every handler. Preflights are answered by the catch-all route
 * (functions/notFound.ts). shared/http/cors.ts says why the app, not the platform, does this.
 */
app.hook.postInvocation((context) => {
  if (context.invocationContext.options.trigger.type !== 'httpTrigger') return;
  const request = context.inputs[0] as HttpRequest;
  if (!request.headers.has('origin') || isPreflight(request)) return;
  const cors = corsResponseHeaders(request, appDeps().config.cors);
  if (Object.keys(cors).length === 0) return;
  // An HttpResponse (or an init given a Headers) is changed in place; a plain init gets Headers of its own.
  const result = (context.result ?? {}) as HttpResponseInit;
  const kept: unknown = result.headers;
  const mutable = typeof kept === 'object' && kept !== null && typeof (kept as Headers).set === 'function';
  const headers = mutable ? (kept as Headers) : new Headers(kept as ConstructorParameters<typeof Headers>[0]);
  for (const [name, value] of Object.entries(cors)) {
    if (name === 'Vary') headers.append(name, value);
    else headers.set(name, value);
  }
  if (headers !== kept) context.result = { ...result, headers };
});
