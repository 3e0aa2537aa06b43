/**
 * `npm run bench -- <name>`: runs one benchmark. Each prints what it does as it goes and ends with one JSON line
 * of figures, so that runs can be compared by machine.
 */
const benchmarks: Record<string, () => Promise<Record<string, unknown>>> = {
  startup: async () => (await import('./startup.js')).runStartupBenchmark(),
  indexer: async () => (await import('./indexer.js')).runIndexerBenchmark(),
  auth: async () => (await import('./auth.js')).runAuthBenchmark(),
  messages: async () => (await import('./messages.js')).runMessagesBenchmark(),
  'stripe-sync': async () => (await import('./stripeSync.js')).runStripeSyncBenchmark(),
  dataset: async () => (await import('./dataset.js')).runDatasetBenchmark(),
  'cli-upload': async () => (await import('./cliUpload.js')).runCliUploadBenchmark(),
  webhooks: async () => (await import('./webhooks.js')).runWebhooksBenchmark(),
};

const name = process.argv[2];
const run = name ? benchmarks[name] : undefined;
if (!run) {
  console.error(`Usage: npm run bench -- <name>\nBenchmarks: ${Object.keys(benchmarks).join(', ')}`);
  process.exit(2);
}
const figures = await run();
console.log(JSON.stringify({ bench: name, ...figures }));
