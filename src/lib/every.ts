/** A periodic task started by `every`. */
export interface Loop {
  /** Cancels the next run and waits for the one under way, if any. */
  stop(): Promise<void>;
}

/**
 * Runs `task` `ms` after the start and then `ms` after each run ends, so runs never overlap and a
 * slow run delays the next instead of piling up. The timer does not keep the process alive; an
 * error goes to `onError` and the loop goes on.
 */
export function every(ms: number, task: () => unknown, onError: (err: unknown) => void): Loop {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = (async () => {
        try {
          await task();
        } catch (err) {
          onError(err);
        }
      })().finally(schedule);
    }, ms);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
