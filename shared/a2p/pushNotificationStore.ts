import { randomUUID } from 'node:crypto';
import type { TaskPushNotificationConfig } from '@a2a-js/sdk';
import { RequestMalformedError, TaskNotFoundError } from '@a2a-js/sdk/errors';
import type { PushNotificationSender, PushNotificationStore, ServerCallContext } from '@a2a-js/sdk/server';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { endpointUrlRefusal, type WebhookAddressPolicy } from '../webhooks/webhookAddressPolicy.js';
import { A2P_TASK_EVENT } from '../webhooks/webhookOutbox.js';
import { callerOf } from './a2pCaller.js';
import { findUserTask } from './taskRepository.js';

/*
 * A2P push notifications on the webhooks' machinery: a task's push-notification config is stored as a webhook
 * endpoint of that task (migration 0014), so a notification is an outbox event written in the transaction that
 * changed the task (taskRepository.ts), delivered by the same deliverer: the address policy (no private or
 * loopback targets in production), 10 s, no redirects, retries for 24 hours, disabling after 3 days of failures,
 * and the same signature, `Tracepipe-Signature: t=..,v1=HMAC-SHA256("<t>.<body>")` under the config's `token`,
 * which is therefore required (it is the secret only the client and we know). The body is the webhook envelope
 * `{ id, type: "a2p.task", created_at, data }` with `data` the task as A2A's JSON has it.
 */

/** Configs a task may have, like webhook endpoints per account (their deliveries are the same work). */
export const MAX_PUSH_CONFIGS_PER_TASK = 5;
const MAX_CONFIG_ID_LENGTH = 200;
/** A token is the HMAC key of the signature: a short one would be guessable. */
const MIN_TOKEN_LENGTH = 16;

export class PostgresPushNotificationStore implements PushNotificationStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly policy: WebhookAddressPolicy,
  ) {}

  async save(taskId: string, context: ServerCallContext, config: TaskPushNotificationConfig): Promise<void> {
    const auth = callerOf(context);
    if (!(await findUserTask(this.db, auth.userId, taskId))) throw new TaskNotFoundError(`Task not found: ${taskId}`);
    const refusal = await endpointUrlRefusal(config.url, this.policy);
    if (refusal) throw new RequestMalformedError(`url ${refusal}`);
    if (typeof config.token !== 'string' || config.token.length < MIN_TOKEN_LENGTH || config.token.length > 512) {
      throw new RequestMalformedError(
        `token is required (${MIN_TOKEN_LENGTH} to 512 characters): it is the key of the notifications' Tracepipe-Signature (HMAC-SHA256).`,
      );
    }
    if (!config.id) config.id = randomUUID(); // the store assigns an empty id, in place (the SDK reads it back)
    if (config.id.length > MAX_CONFIG_ID_LENGTH) throw new RequestMalformedError(`id is at most ${MAX_CONFIG_ID_LENGTH} characters.`);
    const values = { url: config.url, secret: config.token, enabled: true, disabled_reason: null, failing_since: null };
    await this.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('webhook_endpoints')
        .select(['a2p_config_id'])
        .where('a2p_task_id', '=', taskId)
        .forUpdate()
        .execute();
      const replaces = existing.some((row) => row.a2p_config_id === config.id);
      if (!replaces && existing.length >= MAX_PUSH_CONFIGS_PER_TASK) {
        throw new RequestMalformedError(`A task has at most ${MAX_PUSH_CONFIGS_PER_TASK} push-notification configs; delete one first.`);
      }
      await trx
        .insertInto('webhook_endpoints')
        .values({
          user_id: auth.userId,
          events: [A2P_TASK_EVENT],
          description: `A2P push notifications of task ${taskId}`,
          a2p_task_id: taskId,
          a2p_config_id: config.id,
          ...values,
        })
        .onConflict((conflict) =>
          conflict.columns(['a2p_task_id', 'a2p_config_id']).where('a2p_task_id', 'is not', null).doUpdateSet(values),
        )
        .execute();
    });
  }

  async load(taskId: string, context: ServerCallContext): Promise<TaskPushNotificationConfig[]> {
    const auth = callerOf(context);
    if (!(await findUserTask(this.db, auth.userId, taskId))) return [];
    const rows = await this.db
      .selectFrom('webhook_endpoints')
      .select(['a2p_config_id', 'url', 'secret'])
      .where('user_id', '=', auth.userId)
      .where('a2p_task_id', '=', taskId)
      .orderBy('created_at')
      .execute();
    return rows.map((row) => ({
      tenant: context.tenant ?? '',
      id: row.a2p_config_id as string,
      taskId,
      url: row.url,
      token: row.secret,
      authentication: undefined,
    }));
  }

  async delete(taskId: string, context: ServerCallContext, configId?: string): Promise<void> {
    const auth = callerOf(context);
    let query = this.db.deleteFrom('webhook_endpoints').where('user_id', '=', auth.userId).where('a2p_task_id', '=', taskId);
    if (configId !== undefined) query = query.where('a2p_config_id', '=', configId);
    await query.execute();
  }
}

/**
 * The SDK would POST each event of a request itself, unsigned and without retries; the outbox does it instead,
 * for changes made in a request and in the background alike (taskRepository.ts), so this sender sends nothing.
 */
export const OUTBOX_PUSH_SENDER: PushNotificationSender = { send: async () => undefined };
