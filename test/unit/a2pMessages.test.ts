import { Role, type Message, type Part } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { A2P_LIMITS } from '../../shared/a2p/a2pLimits.js';
import { catalogRequestFromText } from '../../shared/a2p/catalogSkill.js';
import { routeMessage } from '../../shared/a2p/tracepipeAgentExecutor.js';
import { readTraceRequest } from '../../shared/a2p/traceRequest.js';

/* How A2P reads a message: which skill it is for, and what a process-trace request holds. No I/O. */

const SUITE = '00000000-0000-4000-8000-000000000201';
const MODEL = '00000000-0000-4000-8000-000000000101';
const SERVER = '00000000-0000-4000-8000-000000000301';

const part = (content: Part['content']): Part => ({ content, metadata: undefined, filename: 'f.jsonl', mediaType: '' });
const file = (bytes = Buffer.from('{"type":"keydown","ts":1}\n')) => part({ $case: 'raw', value: bytes });
const data = (value: unknown) => part({ $case: 'data', value });
const text = (value: string) => part({ $case: 'text', value });

function message(parts: Part[], metadata?: Record<string, unknown>): Message {
  return { messageId: 'm', contextId: '', taskId: '', role: Role.ROLE_USER, parts, metadata, extensions: [], referenceTaskIds: [] };
}

describe('routeMessage', () => {
  it.each([
    ['a file', [file()], 'process-trace'],
    ['the trace fields alone', [data({ suite_id: SUITE })], 'process-trace'],
    ['a named skill', [data({ skill: 'usage' })], 'usage'],
    ['a usage question', [text('How many tokens did I spend?')], 'usage'],
    ['a catalog question', [text('Which MCP servers are there?')], 'catalog'],
    ['a dataset request', [data({ skill: 'build-dataset', name: 'x', format: 'openai' })], 'build-dataset'],
    ['a dataset in words', [text('Build a dataset of my examples')], 'build-dataset'],
  ])('sends %s to %s', (_case, parts, skill) => {
    expect(routeMessage(message(parts), false)).toEqual({ skill });
  });

  it('takes the skill from message metadata too, and sends every reply to a task to that task\'s skill', () => {
    expect(routeMessage(message([text('hello')], { skill: 'catalog' }), false)).toEqual({ skill: 'catalog' });
    expect(routeMessage(message([text('what about usage?')]), true)).toEqual({ skill: 'process-trace' });
    expect(routeMessage(message([data({ format: 'trl' })]), true, 'build-dataset')).toEqual({ skill: 'build-dataset' });
    expect(routeMessage(message([data({ format: 'trl' })]), true, 'process-trace')).toEqual({ skill: 'process-trace' });
  });

  it('answers an unknown skill or an unclear text with help', () => {
    expect(routeMessage(message([data({ skill: 'weather' })]), false)).toEqual({ help: expect.stringMatching(/^Unknown skill "weather"/) });
    expect(routeMessage(message([text('good morning')]), false)).toEqual({ help: expect.stringContaining('process a trace') });
  });
});

describe('catalogRequestFromText', () => {
  it.each([
    ['list the suites', { query: 'suites' }],
    [`actions of suite ${SUITE}`, { query: 'suite', id: SUITE }],
    [`tools of MCP server ${SERVER.toUpperCase()}`, { query: 'mcp_server', id: SERVER }],
    ['which servers exist', { query: 'mcp_servers' }],
    ['what models do you support', { query: 'models' }],
  ])('reads "%s"', (question, request) => {
    expect(catalogRequestFromText(question)).toEqual(request);
  });
});

describe('readTraceRequest', () => {
  it('reads the fields and the file, with defaults', () => {
    const request = readTraceRequest(message([file(), data({ suite_id: SUITE, model_id: MODEL })]));
    expect(request).toMatchObject({ kind: 'ok', fields: { suite_id: SUITE, model_id: MODEL, model_configuration: {} } });
  });

  it('completes a reply with the fields an earlier turn gave; the file must come again', () => {
    expect(readTraceRequest(message([file(), data({ model_id: MODEL })]), { suite_id: SUITE })).toMatchObject({ kind: 'ok' });
    expect(readTraceRequest(message([data({ model_id: MODEL })]), { suite_id: SUITE })).toEqual({
      kind: 'input_required',
      missing: ['file'],
      received: { suite_id: SUITE, model_id: MODEL },
    });
  });

  it('lists everything missing', () => {
    expect(readTraceRequest(message([text('here you go')]))).toEqual({
      kind: 'input_required',
      missing: ['suite_id', 'model_id', 'file'],
      received: {},
    });
  });

  it.each([
    ['two files', [file(), file(), data({ suite_id: SUITE, model_id: MODEL })], /one trace file per task; this message has 2/],
    ['an empty file', [file(Buffer.alloc(0)), data({ suite_id: SUITE, model_id: MODEL })], /empty/],
    ['a file over the inline limit', [file(Buffer.alloc(A2P_LIMITS.inlineTraceBytes + 1)), data({ suite_id: SUITE, model_id: MODEL })], /inline traces are limited/],
    ['a data part that is not an object', [file(), data([SUITE, MODEL])], /must be a JSON object/],
    ['a malformed id', [file(), data({ suite_id: SUITE, model_id: 'gpt-4o' })], /model_id/],
    ['a model_configuration that is not an object', [file(), data({ suite_id: SUITE, model_id: MODEL, model_configuration: 3 })], /model_configuration/],
    ['an unknown field', [file(), data({ suite_id: SUITE, model_id: MODEL, temperature: 1 })], /Unknown field\(s\) in the data part: temperature/],
  ])('rejects %s', (_case, parts, reason) => {
    const request = readTraceRequest(message(parts));
    expect(request.kind).toBe('rejected');
    expect((request as { reason: string }).reason).toMatch(reason);
  });
});
