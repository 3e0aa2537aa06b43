import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runToExit } from '../support/apiProcess.js';
import { createExampleViaApi } from '../support/examples.js';
import { callApi } from '../support/http.js';
import { createTestUser } from '../support/users.js';

describe('npm run pipeline:complete', () => {
  it('plays the pipelines service: the example ends COMPLETED with the file and the tokens given', async () => {
    const user = await createTestUser();
    const pipeline = await createTestUser({ scopes: ['api', 'pipeline'] });
    const { id: exampleId } = await createExampleViaApi(user);
    const folder = mkdtempSync(join(tmpdir(), 'pipeline-complete-'));
    const file = join(folder, 'messages.jsonl');
    const text = `${JSON.stringify({ role: 'user', content: 'Star the repository.' })}\n`;
    writeFileSync(file, text);
    try {
      const run = await runToExit({
        script: 'dist/scripts/pipelineComplete.js',
        args: [exampleId, file, '--tokens', '500', '--output-tokens', '120'],
        env: {
          TRACEPIPE_API_URL: inject('apiUrl'),
          TRACEPIPE_API_KEY: pipeline.key,
          AZURE_STORAGE_CONNECTION_STRING: inject('storageConnectionString'),
        },
      });
      expect(run.output).toContain('COMPLETED');
      expect(run.code).toBe(0);
      const example = await callApi(`/v1/examples/${exampleId}`, { key: user.key });
      expect(example.json).toMatchObject({ status: 'COMPLETED', usage: { input_tokens: 500, output_tokens: 120 } });
      expect((await callApi(`/v1/examples/${exampleId}/messages`, { key: user.key })).text).toBe(text);

      const refused = await runToExit({
        script: 'dist/scripts/pipelineComplete.js',
        args: [exampleId, join(folder, 'missing.jsonl')],
        env: { TRACEPIPE_API_URL: inject('apiUrl'), TRACEPIPE_API_KEY: pipeline.key },
      });
      expect(refused.code).toBe(2);
      expect(refused.output).toContain('No such file');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
