import { app } from '@azure/functions';
import { getConfig } from '../shared/config.js';
import { closeDb } from '../shared/db/index.js';

// Request and response bodies stream (multipart uploads, example downloads): Azure's HTTP streaming mode.
// https://learn.microsoft.com/azure/azure-functions/functions-reference-node#http-streams
app.setup({ enableHttpStream: true });

// The configuration is read when the worker starts, so that a missing setting or an unresolved Key Vault reference
// stops the start with the setting's name (in the host's log) instead of failing the first requests one by one.
app.hook.appStart(() => {
  getConfig();
});

// Let in-flight queries finish and close the pool when the worker shuts down.
app.hook.appTerminate(async () => {
  await closeDb();
});
