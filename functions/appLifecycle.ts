import { app } from '@azure/functions';
import { appDeps, closeAppDeps } from '../shared/runtime/appDeps.js';

// Request and response bodies stream (multipart uploads, example downloads): Azure's HTTP streaming mode.
// https://learn.microsoft.com/azure/azure-functions/functions-reference-node#http-streams
app.setup({ enableHttpStream: true });

// The configuration is read, and the process's dependencies built, when the worker starts, so that a missing setting
// or an unresolved Key Vault reference stops the start with the setting's name (in the host's log) instead of failing
// the first requests one by one.
app.hook.appStart(() => {
  appDeps();
});

// Let in-flight queries finish and close the pool when the worker shuts down.
app.hook.appTerminate(async () => {
  await closeAppDeps();
});
