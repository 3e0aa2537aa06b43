/**
 * `npm run pipeline:complete -- <example-id> <file.jsonl> [--tokens N] [--output-tokens M]`: plays the pipelines
 * service against a running local API through the real contract: PROCESSING, upload messages.jsonl to
 * `examples/<id>/`, then COMPLETED with usage. It finds the API, a key and the storage in the data folder that
 * `npm start` wrote (TRACEPIPE_DATA_DIR, default .data), unless TRACEPIPE_API_URL, TRACEPIPE_API_KEY and
 * AZURE_STORAGE_CONNECTION_STRING say otherwise. The key needs the `pipeline` scope (the local key has it).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { readLocalHostInfo } from '../dev/localHostFile.js';
import { EXAMPLES_CONTAINER } from '../shared/storage/layout.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function patchStatus(apiUrl: string, key: string, exampleId: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${apiUrl}/v1/pipeline/examples/${exampleId}`, {
    method: 'PATCH',
    headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) fail(`PATCH ${JSON.stringify(body)} answered ${response.status}: ${JSON.stringify(answer, null, 2)}`);
  return answer;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tokens: { type: 'string' }, 'output-tokens': { type: 'string' } },
});
const [exampleId, file] = positionals;
if (!exampleId || !file) fail('usage: npm run pipeline:complete -- <example-id> <file.jsonl> [--tokens N] [--output-tokens M]');
if (!existsSync(file)) fail(`No such file: ${file}`);

const local = readLocalHostInfo(resolve(root, process.env.TRACEPIPE_DATA_DIR ?? '.data'));
const apiUrl = process.env.TRACEPIPE_API_URL ?? local?.url;
const key = process.env.TRACEPIPE_API_KEY ?? local?.apiKey;
const storage = process.env.AZURE_STORAGE_CONNECTION_STRING ?? local?.storageConnectionString;
if (!apiUrl || !key || !storage) {
  fail('No running local API found: start it with `npm start`, or set TRACEPIPE_API_URL, TRACEPIPE_API_KEY and AZURE_STORAGE_CONNECTION_STRING.');
}
// Without figures, a rough guess of four bytes a token keeps local usage plausible.
const inputTokens = Number(values.tokens ?? Math.ceil(statSync(file).size / 4));
const outputTokens = Number(values['output-tokens'] ?? 0);
if (!Number.isInteger(inputTokens) || inputTokens < 0 || !Number.isInteger(outputTokens) || outputTokens < 0) {
  fail('--tokens and --output-tokens take whole numbers.');
}

const processing = await patchStatus(apiUrl, key, exampleId, { status: 'PROCESSING' });
console.log(`example ${exampleId}: ${String(processing.status)}`);
await BlobServiceClient.fromConnectionString(storage)
  .getContainerClient(EXAMPLES_CONTAINER)
  .getBlockBlobClient(`${exampleId}/messages.jsonl`)
  .uploadFile(file, { blobHTTPHeaders: { blobContentType: 'application/jsonl' } });
console.log(`uploaded ${file} to ${EXAMPLES_CONTAINER}/${exampleId}/messages.jsonl`);
const completed = await patchStatus(apiUrl, key, exampleId, {
  status: 'COMPLETED',
  usage: { input_tokens: inputTokens, output_tokens: outputTokens },
});
console.log(`example ${exampleId}: ${String(completed.status)} (${inputTokens} input, ${outputTokens} output tokens)`);
