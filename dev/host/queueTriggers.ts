import { randomUUID } from 'node:crypto';
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import type { QueueSettings } from './appLoader.js';
import { resolveAppSettingExpressions, storageConnectionString } from './appSettings.js';
import type { RpcTypedData } from './coreTypes.js';
import type { RegisteredFunction } from './functionsCore.js';
import type { HostLogger } from './hostLog.js';
import type { FunctionInvoker, InvocationInput } from './invoker.js';
import { startPoller, type Poller } from './poller.js';
import type { TriggerListener } from './triggerListener.js';

/**
 * Queue triggers as the storage extension runs them
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger):
 * messages are fetched in batches (host.json `batchSize`, default 16), hidden for 10 minutes while the function
 * runs (renewed halfway), decoded per `messageEncoding` (default base64), deleted on success; a failed message
 * becomes visible again after `visibilityTimeout` (default 0) and, once dequeued `maxDequeueCount` times
 * (default 5), moves to `<queue>-poison`. A message that is not valid base64 under base64 encoding goes to the
 * poison queue at once, as the extension's MessageDecodingFailed handler does.
 */

const VISIBILITY_WHILE_RUNNING_SECONDS = 600;

export interface QueueTriggerOptions {
  invoker: FunctionInvoker;
  logger: HostLogger;
  settings: QueueSettings;
  pollIntervalMs: number;
}

export class QueueTriggerListener implements TriggerListener {
  readonly functionName: string;
  readonly #fn: RegisteredFunction;
  readonly #options: QueueTriggerOptions;
  #queue: QueueClient | undefined;
  #poison: QueueClient | undefined;
  #queueReady = false;
  #poller: Poller | undefined;

  constructor(fn: RegisteredFunction, options: QueueTriggerOptions) {
    this.#fn = fn;
    this.functionName = fn.name;
    this.#options = options;
  }

  async start(): Promise<void> {
    const queueName = resolveAppSettingExpressions(String(this.#fn.trigger.queueName ?? '')).toLowerCase();
    if (!queueName) throw new Error(`Queue trigger ${this.functionName} has no queueName.`);
    const service = QueueServiceClient.fromConnectionString(storageConnectionString(this.#fn.trigger.connection));
    this.#queue = service.getQueueClient(queueName);
    this.#poison = service.getQueueClient(`${queueName}-poison`);
    this.#poller = startPoller(
      this.#options.pollIntervalMs,
      () => this.#poll(),
      (error) => this.#options.logger.host('warning', `Queue poll for ${this.functionName} failed: ${String(error)}`),
    );
  }

  async stop(): Promise<void> {
    await this.#poller?.stop();
  }

  async invokeFromAdmin(input: string): Promise<void> {
    const now = new Date();
    const fake = {
      messageId: randomUUID(),
      popReceipt: '',
      dequeueCount: 1,
      insertedOn: now,
      expiresOn: new Date(now.getTime() + 7 * 86_400_000),
      nextVisibleOn: now,
      messageText: input,
    };
    await this.#options.invoker.invoke(this.#fn, this.#buildInput(fake, Buffer.from(input, 'utf8')), {
      reason: 'This function was programmatically called via the host APIs.',
    });
  }

  async #poll(): Promise<boolean> {
    const queue = this.#queue;
    if (!queue) return false;
    if (!this.#queueReady) {
      await queue.createIfNotExists();
      this.#queueReady = true;
    }
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: this.#options.settings.batchSize,
      visibilityTimeout: VISIBILITY_WHILE_RUNNING_SECONDS,
    });
    await Promise.all(receivedMessageItems.map((message) => this.#handle(queue, message)));
    return receivedMessageItems.length > 0;
  }

  async #handle(queue: QueueClient, message: DequeuedMessageItem): Promise<void> {
    const { maxDequeueCount, visibilityTimeoutMs } = this.#options.settings;
    let popReceipt = message.popReceipt;
    if (message.dequeueCount > maxDequeueCount) {
      await this.#moveToPoison(queue, message.messageId, popReceipt, message.messageText);
      return;
    }
    const body = this.#decode(message.messageText);
    if (!body) {
      this.#options.logger.forFunction(this.functionName, 'error', 'system', `Message ${message.messageId} is not valid base64 (host.json extensions.queues.messageEncoding is base64).`);
      await this.#moveToPoison(queue, message.messageId, popReceipt, message.messageText);
      return;
    }

    const renewal = setInterval(() => {
      queue
        .updateMessage(message.messageId, popReceipt, undefined, VISIBILITY_WHILE_RUNNING_SECONDS)
        .then((updated) => {
          if (updated.popReceipt) popReceipt = updated.popReceipt;
        })
        .catch(() => undefined);
    }, (VISIBILITY_WHILE_RUNNING_SECONDS * 1000) / 2);
    renewal.unref();
    try {
      await this.#options.invoker.invoke(this.#fn, this.#buildInput({ ...message, popReceipt }, body), {
        reason: `New queue message detected on '${queue.name}'.`,
      });
    } catch {
      clearInterval(renewal);
      if (message.dequeueCount >= maxDequeueCount) {
        await this.#moveToPoison(queue, message.messageId, popReceipt, message.messageText);
      } else {
        await queue.updateMessage(message.messageId, popReceipt, undefined, Math.floor(visibilityTimeoutMs / 1000));
      }
      return;
    } finally {
      clearInterval(renewal);
    }
    await queue.deleteMessage(message.messageId, popReceipt);
  }

  #decode(text: string): Buffer | undefined {
    if (this.#options.settings.messageEncoding === 'none') return Buffer.from(text, 'utf8');
    const compact = text.replace(/\s+/g, '');
    if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
    return Buffer.from(compact, 'base64');
  }

  async #moveToPoison(queue: QueueClient, messageId: string, popReceipt: string, messageText: string): Promise<void> {
    const poison = this.#poison;
    if (!poison) return;
    await poison.createIfNotExists();
    await poison.sendMessage(messageText);
    await queue.deleteMessage(messageId, popReceipt);
    this.#options.logger.forFunction(
      this.functionName,
      'warning',
      'system',
      `Message has reached MaxDequeueCount of ${this.#options.settings.maxDequeueCount}. Moving message to queue '${poison.name}'.`,
    );
  }

  #buildInput(message: Omit<DequeuedMessageItem, 'popReceipt'> & { popReceipt: string }, body: Buffer): InvocationInput {
    const text = body.toString('utf8');
    const json = (value: unknown): RpcTypedData => ({ json: JSON.stringify(value) });
    const triggerMetadata: Record<string, RpcTypedData> = {
      QueueTrigger: { string: text },
      Id: { string: message.messageId },
      DequeueCount: { int: message.dequeueCount },
      InsertionTime: json(message.insertedOn.toISOString()),
      ExpirationTime: json(message.expiresOn.toISOString()),
      NextVisibleTime: json(message.nextVisibleOn.toISOString()),
      PopReceipt: { string: message.popReceipt },
      sys: json({ MethodName: this.#fn.name, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }),
    };
    // Text goes as a string (the library JSON-parses it when it can); `dataType: 'binary'` asks for bytes.
    const data: RpcTypedData = this.#fn.trigger.dataType === 'binary' ? { bytes: body } : { string: text };
    return { inputData: [{ name: this.#fn.triggerBindingName, data }], triggerMetadata };
  }
}
