// azd postdeploy hook (azure.yaml): a smoke test of what was just deployed. GET /v1/health must answer 200 (the
// database and storage reachable with the app's identity) within a few minutes, else the hook fails, loudly.
import { setTimeout as sleep } from 'node:timers/promises';

const base = process.env.SERVICE_API_URI;
if (!base) {
  console.error('SERVICE_API_URI is not in the azd environment: run azd provision first.');
  process.exit(1);
}
let last = '';
for (let attempt = 1; attempt <= 20; attempt += 1) {
  try {
    const response = await fetch(`${base}/v1/health`, { signal: AbortSignal.timeout(15_000) });
    const body = await response.text();
    if (response.status === 200) {
      console.log(`Smoke test: ${base}/v1/health answered 200: ${body}`);
      process.exit(0);
    }
    last = `${response.status} ${body.slice(0, 500)}`;
  } catch (error) {
    last = error instanceof Error ? error.message : String(error);
  }
  await sleep(15_000);
}
console.error(`Smoke test failed: ${base}/v1/health did not answer 200 in 5 minutes (last: ${last}).`);
process.exit(1);
