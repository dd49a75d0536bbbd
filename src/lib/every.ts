import type { Logger } from '../logger';

export interface EveryOptions {
  /** Names the loop in its log lines: `<what> failed`. */
  what: string;
  logger: Logger;
  /** `warn` for work that is expected to fail while a dependency is down (default `error`). */
  level?: 'warn' | 'error';
  /** The first run starts at once instead of `ms` after the call; `Loop.first` settles when it ends. */
  immediately?: boolean;
}

export interface Loop {
  /** Settles when the first run has ended (at once when not `immediately`). */
  readonly first: Promise<void>;
  /** No run starts after this; resolves once the run under way, if any, has ended. */
  stop(): Promise<void>;
}

/**
 * Runs `task` every `ms` milliseconds until stopped: the next run is scheduled `ms` after the previous
 * one ended, so runs never overlap. A failing run is logged and the loop goes on. The timer is unref'd:
 * a loop never keeps the process alive.
 */
export function every(ms: number, task: () => unknown, opts: EveryOptions): Loop {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const run = () => {
    timer = undefined;
    running = (async () => {
      try {
        await task();
      } catch (err) {
        opts.logger[opts.level ?? 'error']({ err }, `${opts.what} failed`);
      }
    })();
    void running.then(() => {
      if (!stopped) timer = setTimeout(run, ms).unref();
    });
    return running;
  };
  const first = opts.immediately ? run() : ((timer = setTimeout(run, ms).unref()), Promise.resolve());
  return {
    first,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
