import { describe, expect, it } from 'vitest';
import { checkTrainingMessages, trainingMessageProblem } from '../shared/examples/trainingMessages.js';

const call = (args: unknown) => ({ id: 'c1', type: 'function', function: { name: 'archive_email', arguments: args } });

describe('training messages', () => {
  it.each([
    [{ role: 'system', content: 'x' }],
    [{ role: 'user', content: '' }],
    [{ role: 'assistant', content: null, tool_calls: [call('{}'), call('{"a":[1]}')] }],
  ])('accepts %j', (message) => {
    expect(trainingMessageProblem(message)).toBeNull();
  });

  it.each([
    [{ role: 'user', content: null }, /string content/],
    [{ role: 'assistant', content: null, tool_calls: [] }, /non-empty `tool_calls`/],
    [{ role: 'assistant', content: null, tool_calls: [call('{nope')] }, /tool_calls\[0\]\.function\.arguments is not valid JSON/],
    [{ role: 'assistant', content: null, tool_calls: [call({ a: 1 })] }, /arguments must be a string/],
    [{ role: 'assistant', content: null, tool_calls: [{ ...call('{}'), type: 'code' }] }, /type must be "function"/],
    [{ content: 'x' }, /no string `role`/],
  ])('refuses %j', (message, problem) => {
    expect(trainingMessageProblem(message)).toMatch(problem);
  });

  it('checks a stream split anywhere, counting every error but keeping the first 20', async () => {
    const good = JSON.stringify({ role: 'user', content: 'hi' });
    const text = [good, ...Array.from({ length: 25 }, () => '{"role":"tool"}'), good].join('\r\n') + '\r\n';
    const bytes = Buffer.from(text);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const result = await checkTrainingMessages((async function* () {
      yield* chunks;
    })());
    expect(result).toMatchObject({ valid: false, messageCount: 2, errorCount: 25, sizeBytes: bytes.length });
    expect(result.errors).toHaveLength(20);
    expect(result.errors[0]).toEqual({ line: 2, message: expect.stringContaining('Unknown role "tool"') });
  });
});
