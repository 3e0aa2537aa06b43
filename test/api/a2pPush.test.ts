import { randomUUID } from 'node:crypto';
import { TaskState, type Task } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { eventually } from '../support/sessions.js';
import { GPT_4O } from '../support/examples.js';
import { a2aClientFor, dataPart, traceFilePart, userMessage } from '../support/a2aClient.js';
import { callApi } from '../support/http.js';
import { createTestUser, type TestUser } from '../support/users.js';
import { signatureVerifies, startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

/**
 * A2P push notifications (the A2A push-notification config methods, through the SDK's own client), delivered by
 * the webhooks' deliverer: signed under the config's token, with the task as A2A's JSON has it.
 */

const TRACE = [
  { ts: 1_767_225_600_000_000, type: 'keydown', key: 'a' },
  { ts: 1_767_225_600_100_000, type: 'click', selector: '#send' },
]
  .map((event) => JSON.stringify(event))
  .join('\n');
const TOKEN = `push-token-${randomUUID()}`;

let owner: TestUser;
let stranger: TestUser;
let receiver: WebhookReceiver;

beforeAll(async () => {
  [owner, stranger] = await Promise.all([createTestUser(), createTestUser()]);
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver.close());


const traceFile = () => traceFilePart(TRACE);

async function taskWaitingForInput(client: Client): Promise<Task> {
  const task = (await client.sendMessage({ tenant: '', message: userMessage([traceFile(), dataPart({ suite_id: GMAIL_SUITE_ID })]), configuration: undefined, metadata: undefined })) as Task;
  expect(task.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
  return task;
}

const config = (taskId: string, overrides: Partial<{ id: string; url: string; token: string }> = {}) => ({
  tenant: '',
  id: '',
  taskId,
  url: receiver.url,
  token: TOKEN,
  authentication: undefined,
  ...overrides,
});

describe('A2P push notifications', () => {
  it('are advertised, stored per task, and each change of the task is POSTed, signed under the token', async () => {
    const card = await callApi('/.well-known/agent-card.json', { key: null, headers: { 'A2A-Version': '1.0' } });
    expect(card.json).toMatchObject({ capabilities: { pushNotifications: true } });

    const client = await a2aClientFor(owner);
    const task = await taskWaitingForInput(client);
    const created = await client.createTaskPushNotificationConfig(config(task.id));
    expect(created.id).toMatch(/\S/);
    expect(created.url).toBe(receiver.url);
    const listed = await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' });
    expect(listed.configs.map((entry) => entry.id)).toEqual([created.id]);
    // Not a webhook endpoint of the account's list.
    const endpoints = await callApi('/v1/webhook-endpoints', { key: owner.key });
    expect((endpoints.json as { items: unknown[] }).items).toEqual([]);

    await client.sendMessage({
      tenant: '',
      message: userMessage([traceFile(), dataPart({ model_id: GPT_4O })], { taskId: task.id, contextId: task.contextId }),
      configuration: undefined,
      metadata: undefined,
    });
    const pushed = await eventually('a push notification of the task', async () =>
      // Every write of the task is one (the SDK saves the reply to the history first): the one that says WORKING.
      receiver.received.find(
        (entry) =>
          entry.event.type === 'a2p.task' &&
          entry.event.data.id === task.id &&
          (entry.event.data.status as { state?: string } | undefined)?.state === 'TASK_STATE_WORKING',
      ),
    );
    expect(signatureVerifies(TOKEN, pushed.body, pushed.headers['tracepipe-signature'] as string)).toBe(true);
    expect(signatureVerifies('another-token-of-sixteen', pushed.body, pushed.headers['tracepipe-signature'] as string)).toBe(false);
    expect(pushed.headers['tracepipe-event-id']).toBe(pushed.event.id);
    expect(pushed.event.data).toMatchObject({ id: task.id, contextId: task.contextId, status: { state: 'TASK_STATE_WORKING' } });

    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: created.id });
    expect((await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs).toEqual([]);
  });

  it('refuses a config without a token, with a refused address, or for another user\'s task, storing nothing', async () => {
    const client = await a2aClientFor(owner);
    const task = await taskWaitingForInput(client);
    await expect(client.createTaskPushNotificationConfig(config(task.id, { token: '' }))).rejects.toThrow(/token is required/);
    await expect(client.createTaskPushNotificationConfig(config(task.id, { url: 'ftp://example.com/hook' }))).rejects.toThrow(/url/);
    const other = await a2aClientFor(stranger);
    await expect(other.createTaskPushNotificationConfig(config(task.id))).rejects.toThrow(/not found/i);
    expect((await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs).toEqual([]);
  });

  it('takes the A2A 0.3 method names through the compatibility layer', async () => {
    const task = await taskWaitingForInput(await a2aClientFor(owner));
    const call = (method: string, params: unknown) =>
      callApi('/v1/a2p', { method: 'POST', key: owner.key, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    const set = await call('tasks/pushNotificationConfig/set', {
      taskId: task.id,
      pushNotificationConfig: { id: 'legacy-1', url: receiver.url, token: TOKEN },
    });
    expect(set.status, set.text).toBe(200);
    expect(set.json).toMatchObject({ result: { taskId: task.id, pushNotificationConfig: { id: 'legacy-1', url: receiver.url } } });
    const list = await call('tasks/pushNotificationConfig/list', { id: task.id });
    expect(list.json).toMatchObject({ result: [{ taskId: task.id, pushNotificationConfig: { id: 'legacy-1' } }] });
    const removed = await call('tasks/pushNotificationConfig/delete', { id: task.id, pushNotificationConfigId: 'legacy-1' });
    expect(removed.json).toMatchObject({ result: null });
  });
});
