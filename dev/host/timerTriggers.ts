import { BlobServiceClient, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { readAppSetting, resolveAppSettingExpressions } from './appSettings.js';
import { HOSTS_CONTAINER } from './blobReceipts.js';
import type { RegisteredFunction } from './functionsCore.js';
import type { HostLogger } from './hostLog.js';
import type { FunctionInvoker } from './invoker.js';
import { parseTimerSchedule, shortestIntervalMs, type TimerSchedule } from './timerSchedule.js';
import { statusCodeOf, type TriggerListener } from './triggerListener.js';

/**
 * Timer triggers (https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer):
 * - fires at each occurrence of the schedule; a tick that comes while the previous run is still going is skipped
 *   (in Azure a singleton lock keeps runs of one timer from overlapping);
 * - `runOnStartup: true` fires once when the host starts;
 * - the schedule monitor (`useMonitor`, by default on for schedules a minute or more apart) keeps
 *   `{ Last, Next, LastUpdated }` in blob `azure-webjobs-hosts/timers/<hostId>/<function id>/status`, so that an
 *   occurrence missed while the host was down fires at start with `IsPastDue: true`; without it ScheduleStatus is null;
 * - the function receives Azure's TimerInfo JSON, `{ Schedule: { AdjustForDST }, ScheduleStatus, IsPastDue }`,
 *   which the library camel-cases.
 */

const MAX_TIMEOUT_MS = 2_147_483_647;
const MIN_DATE = '0001-01-01T00:00:00';

export interface TimerTriggerOptions {
  invoker: FunctionInvoker;
  logger: HostLogger;
  hostId: string;
  timeZone: string;
}

interface ScheduleStatus {
  Last: string;
  Next: string;
  LastUpdated: string;
}

export class TimerTriggerListener implements TriggerListener {
  readonly functionName: string;
  readonly #fn: RegisteredFunction;
  readonly #options: TimerTriggerOptions;
  #schedule: TimerSchedule | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #monitor: BlockBlobClient | undefined;
  #monitorContainer: ContainerClient | undefined;
  #status: ScheduleStatus | null = null;

  constructor(fn: RegisteredFunction, options: TimerTriggerOptions) {
    this.#fn = fn;
    this.functionName = fn.name;
    this.#options = options;
  }

  async start(): Promise<void> {
    const expression = resolveAppSettingExpressions(String(this.#fn.trigger.schedule ?? ''));
    const schedule = parseTimerSchedule(expression, this.#options.timeZone);
    this.#schedule = schedule;
    const now = new Date();

    const useMonitor =
      typeof this.#fn.trigger.useMonitor === 'boolean'
        ? this.#fn.trigger.useMonitor
        : shortestIntervalMs(schedule, now) >= 60_000;
    const hostStorage = readAppSetting('AzureWebJobsStorage');
    let pastDue: string | undefined;
    if (useMonitor && hostStorage) {
      this.#monitorContainer = BlobServiceClient.fromConnectionString(hostStorage).getContainerClient(HOSTS_CONTAINER);
      this.#monitor = this.#monitorContainer.getBlockBlobClient(
        `timers/${this.#options.hostId}/Host.Functions.${this.#fn.name}/status`,
      );
      const stored = await this.#readStatus();
      if (stored && Date.parse(stored.Next) < now.getTime()) pastDue = stored.Next;
      this.#status = stored ?? { Last: MIN_DATE, Next: schedule.next(now).toISOString(), LastUpdated: now.toISOString() };
    }

    if (pastDue) {
      this.#options.logger.forFunction(this.functionName, 'information', 'system', `Function '${this.functionName}' is past due on startup. Executing now.`);
      this.#fire(new Date(pastDue), true);
    } else if (this.#fn.trigger.runOnStartup === true) {
      this.#fire(now, false);
    }
    this.#scheduleAfter(now);
    this.#options.logger.host(
      'information',
      `Timer ${this.functionName}: schedule "${expression}" (${this.#options.timeZone}), next ${schedule.next(now).toISOString()}`,
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async invokeFromAdmin(): Promise<void> {
    await this.#invoke(false, 'This function was programmatically called via the host APIs.');
  }

  #scheduleAfter(after: Date): void {
    const schedule = this.#schedule;
    if (!schedule || this.#stopped) return;
    const occurrence = schedule.next(after);
    const arm = () => {
      const wait = occurrence.getTime() - Date.now();
      if (wait > 0) {
        this.#timer = setTimeout(arm, Math.min(wait, MAX_TIMEOUT_MS));
        return;
      }
      this.#fire(occurrence, false);
      // Occurrences missed while the process was stalled are not made up for, as in Azure.
      this.#scheduleAfter(new Date(Math.max(occurrence.getTime(), Date.now() - 1)));
    };
    arm();
  }

  #fire(occurrence: Date, isPastDue: boolean): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#options.logger.forFunction(
        this.functionName,
        'information',
        'system',
        `Timer for '${this.functionName}' skipped the occurrence at ${occurrence.toISOString()}: the previous run is still going.`,
      );
      return;
    }
    const run = this.#invoke(isPastDue, `Timer fired at ${new Date().toISOString()}`)
      .catch(() => undefined) // logged by the invoker
      .then(() => this.#recordRun(occurrence))
      .catch((error: unknown) =>
        this.#options.logger.host('warning', `Timer ${this.functionName}: could not save the schedule status: ${String(error)}`),
      )
      .finally(() => {
        if (this.#running === run) this.#running = undefined;
      });
    this.#running = run;
  }

  async #invoke(isPastDue: boolean, reason: string): Promise<void> {
    const schedule = this.#schedule;
    if (!schedule) throw new Error(`Timer ${this.functionName} has not started.`);
    const timerInfo = {
      Schedule: { AdjustForDST: schedule.adjustForDST },
      ScheduleStatus: this.#status,
      IsPastDue: isPastDue,
    };
    await this.#options.invoker.invoke(
      this.#fn,
      {
        inputData: [{ name: this.#fn.triggerBindingName, data: { json: JSON.stringify(timerInfo) } }],
        triggerMetadata: {
          sys: {
            json: JSON.stringify({ MethodName: this.#fn.name, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }),
          },
        },
      },
      { reason },
    );
  }

  async #recordRun(occurrence: Date): Promise<void> {
    const schedule = this.#schedule;
    if (!this.#monitor || !schedule) return;
    this.#status = {
      Last: occurrence.toISOString(),
      Next: schedule.next(new Date(Math.max(occurrence.getTime(), Date.now()))).toISOString(),
      LastUpdated: new Date().toISOString(),
    };
    const text = JSON.stringify(this.#status);
    try {
      await this.#monitor.upload(text, Buffer.byteLength(text));
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
      await this.#monitorContainer?.createIfNotExists();
      await this.#monitor.upload(text, Buffer.byteLength(text));
    }
  }

  async #readStatus(): Promise<ScheduleStatus | null> {
    try {
      const content = await this.#monitor?.downloadToBuffer();
      if (!content) return null;
      const parsed = JSON.parse(content.toString('utf8')) as Partial<ScheduleStatus>;
      if (typeof parsed.Next !== 'string' || typeof parsed.Last !== 'string') return null;
      return { Last: parsed.Last, Next: parsed.Next, LastUpdated: String(parsed.LastUpdated ?? parsed.Next) };
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }
}
