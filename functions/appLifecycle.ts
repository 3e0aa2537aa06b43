import { app } from '@azure/functions';
import { closeDb } from '../shared/db/index.js';

// Request and response bodies stream (multipart uploads, example downloads): Azure's HTTP streaming mode.
// https://learn.microsoft.com/azure/azure-functions/functions-reference-node#http-streams
app.setup({ enableHttpStream: true });

// Let in-flight queries finish and close the pool when the worker shuts down.
app.hook.appTerminate(async () => {
  await closeDb();
});
