import { describe, expect, it } from 'vitest';
import { ConversationCanonicalizer, type CanonicalMessage } from '../../shared/examples/conversationCanonicalizer.js';
import { checkTrainingMessages } from '../../shared/examples/trainingMessages.js';

const TOOLS = new Set(['archive_email', 'search_emails']);
const call = (args: unknown, id = 'c1') => ({ id, type: 'function', function: { name: 'archive_email', arguments: args } });

function accept(...lines: Record<string, unknown>[]) {
  const canonicalizer = new ConversationCanonicalizer(TOOLS);
  return lines.map((line) => canonicalizer.accept(line));
}

async function check(lines: unknown[], toolNames: ReadonlySet<string> = TOOLS) {
  const canonical: string[] = [];
  const result = await checkTrainingMessages([lines.map((line) => JSON.stringify(line)).join('\n')], {
    toolNames,
    onCanonicalLine: (line) => canonical.push(line),
  });
  return { result, canonical: canonical.join('') };
}

describe('reading training messages into canonical form', () => {
  it.each([
    [{ role: 'system', content: 'x' }],
    [{ role: 'user', content: '' }],
    [{ role: 'assistant', content: null, tool_calls: [call('{}'), call('{"a":[1]}', 'c2')] }],
    [{ role: 'assistant', content: 'Done.' }],
    [{ role: 'assistant', content: 'Done.', weight: 0 }],
  ])('accepts %j as it is', (message) => {
    expect(accept(message)).toEqual([{ message }]);
  });

  it('stores the simplified tool-call form in OpenAI\'s form, with call_<n> ids and arguments as a JSON string', () => {
    const [first, second, third] = accept(
      { role: 'assistant', content: null, tool_calls: [{ name: 'search_emails', arguments: { query: 'from:alice' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '[]' },
      {
        role: 'assistant',
        content: 'Archiving.',
        weight: 1,
        tool_calls: [
          { name: 'archive_email', arguments: { message_id: 'm1' } },
          { id: 'mine', type: 'function', function: { name: 'archive_email', arguments: '{"message_id":"m2"}' } },
        ],
      },
    );
    expect(first).toEqual({
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search_emails', arguments: '{"query":"from:alice"}' } }],
      },
    });
    expect(second).toEqual({ message: { role: 'tool', tool_call_id: 'call_1', content: '[]' } });
    expect(third).toEqual({
      message: {
        role: 'assistant',
        content: 'Archiving.',
        weight: 1,
        tool_calls: [
          { id: 'call_2', type: 'function', function: { name: 'archive_email', arguments: '{"message_id":"m1"}' } },
          { id: 'mine', type: 'function', function: { name: 'archive_email', arguments: '{"message_id":"m2"}' } },
        ],
      },
    });
  });

  it('generates no id that an explicit one already took', () => {
    const [, second] = accept(
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_2', name: 'archive_email', arguments: {} }] },
      { role: 'assistant', content: null, tool_calls: [{ name: 'archive_email', arguments: {} }] },
    );
    expect(second).toMatchObject({ message: { tool_calls: [{ id: 'call_3' }] } });
  });

  it.each([
    [{ role: 'developer', content: 'x' }, /Unknown role "developer"/],
    [{ content: 'x' }, /no string `role`/],
    [{ role: 'user', content: null }, /string content/],
    [{ role: 'user', content: 'x', name: 'bob' }, /Unknown field\(s\) on a user message: name/],
    [{ role: 'assistant', content: null, tool_calls: [] }, /text content or a non-empty `tool_calls`/],
    [{ role: 'assistant', content: '' }, /text content or a non-empty `tool_calls`/],
    [{ role: 'assistant', content: 'x', weight: 2 }, /`weight` must be 0 or 1/],
    [{ role: 'assistant', content: null, tool_calls: [call('{nope')] }, /tool_calls\[0\]\.function\.arguments is not valid JSON/],
    [{ role: 'assistant', content: null, tool_calls: [call('[1,2]')] }, /arguments must be a JSON object .* not an array/],
    [{ role: 'assistant', content: null, tool_calls: [call(7)] }, /arguments must be a JSON object .* not a number/],
    [{ role: 'assistant', content: null, tool_calls: [{ name: 'archive_email', arguments: 'x' }] }, /tool_calls\[0\]\.arguments is not valid JSON/],
    [{ role: 'assistant', content: null, tool_calls: [{ name: 'archive_email' }] }, /arguments is missing/],
    [{ role: 'assistant', content: null, tool_calls: [{ ...call('{}'), type: 'code' }] }, /type must be "function"/],
    [{ role: 'assistant', content: null, tool_calls: [{ name: 'delete_everything', arguments: {} }] }, /"delete_everything" is no tool of the example's action-tool map/],
    [{ role: 'assistant', content: null, tool_calls: [call('{}', 'has space')] }, /id must be 1-64 characters/],
    [{ role: 'assistant', content: null, tool_calls: [call('{}'), call('{}')] }, /id "c1" is used by an earlier tool call/],
    [{ role: 'tool', tool_call_id: 'nobody', content: 'x' }, /answers no call/],
    [{ role: 'tool', content: 'x' }, /needs a string `tool_call_id`/],
  ])('refuses %j', (message, problem) => {
    const [result] = accept(message);
    expect(result).toEqual({ problem: expect.stringMatching(problem) });
  });

  it('refuses a second answer to one call, a tool name that is not the called one, and non-string tool content', () => {
    const results = accept(
      { role: 'assistant', content: null, tool_calls: [call('{}', 'a'), call('{}', 'b'), call('{}', 'c')] },
      { role: 'tool', tool_call_id: 'a', content: 'ok' },
      { role: 'tool', tool_call_id: 'a', content: 'again' },
      { role: 'tool', tool_call_id: 'b', name: 'search_emails', content: 'x' },
      { role: 'tool', tool_call_id: 'c', content: { ok: true } },
    );
    expect(results.map((result) => ('problem' in result ? result.problem : 'ok'))).toEqual([
      'ok',
      'ok',
      expect.stringMatching(/"a" was answered already/),
      expect.stringMatching(/name "search_emails" is not the called tool's \("archive_email"\)/),
      expect.stringMatching(/string content, not an object/),
    ]);
  });

  it('reads any tool name when it is given no map (a stored example read back)', () => {
    const canonicalizer = new ConversationCanonicalizer(null);
    expect(canonicalizer.accept({ role: 'assistant', content: null, tool_calls: [{ name: 'renamed_since', arguments: {} }] })).toMatchObject({
      message: { tool_calls: [{ function: { name: 'renamed_since' } }] },
    });
  });

  it('digests the normalized conversation: the same with other ids, spacing and key order, not with other content', () => {
    const digest = (...lines: Record<string, unknown>[]) => {
      const canonicalizer = new ConversationCanonicalizer(TOOLS);
      for (const line of lines) canonicalizer.accept(line);
      return canonicalizer.digest();
    };
    const base = digest(
      { role: 'user', content: 'Archive  it.' },
      { role: 'assistant', content: null, tool_calls: [call('{"a":1,"b":2}', 'x1')] },
      { role: 'tool', tool_call_id: 'x1', content: 'done' },
    );
    expect(
      digest(
        { role: 'user', content: ' Archive it. ' },
        { role: 'assistant', content: null, tool_calls: [{ name: 'archive_email', arguments: { b: 2, a: 1 } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'done' },
      ),
    ).toBe(base);
    expect(digest({ role: 'user', content: 'Archive it!' })).not.toBe(base);
    expect(
      digest(
        { role: 'user', content: 'Archive it.' },
        { role: 'assistant', content: null, tool_calls: [call('{"a":1,"b":2}', 'x1')], weight: 0 },
        { role: 'tool', tool_call_id: 'x1', content: 'done' },
      ),
    ).not.toBe(base);
  });
});

describe('checking a messages file', () => {
  it('finds an OpenAI-form file canonical already, and a simplified one changed, with the same conversation', async () => {
    const openAi = await check([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'archive_email', arguments: '{"id":1}' } }] },
    ]);
    expect(openAi.result).toMatchObject({ valid: true, messageCount: 2, changed: true });
    // JSON.stringify of the lines without a final newline: canonical form ends each line with one.
    const canonicalText = openAi.canonical;
    const again = await checkTrainingMessages([canonicalText], { toolNames: TOOLS });
    expect(again).toMatchObject({ valid: true, changed: false, conversationSha256: openAi.result.conversationSha256 });

    const simplified = await check([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ name: 'archive_email', arguments: { id: 1 } }] },
    ]);
    expect(simplified.canonical).toBe(canonicalText);
    expect(simplified.result.conversationSha256).toBe(openAi.result.conversationSha256);
  });

  it('checks a stream split anywhere, counting every error but keeping the first 20', async () => {
    const good = JSON.stringify({ role: 'user', content: 'hi' });
    const text = [good, ...Array.from({ length: 25 }, () => '{"role":"robot"}'), good].join('\r\n') + '\r\n';
    const bytes = Buffer.from(text);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const result = await checkTrainingMessages(
      (async function* () {
        yield* chunks;
      })(),
      { toolNames: TOOLS },
    );
    expect(result).toMatchObject({ valid: false, messageCount: 2, errorCount: 25, sizeBytes: bytes.length });
    expect(result.errors).toHaveLength(20);
    expect(result.errors[0]).toEqual({ line: 2, message: expect.stringContaining('Unknown role "robot"') });
  });

  it('hands on messages in canonical form, one per line', async () => {
    const messages: CanonicalMessage[] = [];
    await checkTrainingMessages([`${JSON.stringify({ role: 'assistant', content: 'x', weight: 0 })}\n`], {
      toolNames: TOOLS,
      onMessage: (message) => messages.push(message),
    });
    expect(messages).toEqual([{ role: 'assistant', content: 'x', weight: 0 }]);
  });
});
