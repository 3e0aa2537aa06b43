/**
 * Runs `tick` again and again: right away when it reports more work, else after `intervalMs`. A tick that throws
 * is reported and the loop goes on. `stop()` cancels the wait and resolves once the running tick has ended.
 */
export interface Poller {
  stop(): Promise<void>;
}

export function startPoller(intervalMs: number, tick: () => Promise<boolean>, onError: (error: unknown) => void): Poller {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const loop = async () => {
    while (!stopped) {
      let more = false;
      try {
        more = await tick();
      } catch (error) {
        if (!stopped) onError(error);
      }
      if (stopped || more) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalMs);
      });
      wake = undefined;
    }
  };
  const running = loop();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await running;
    },
  };
}
