import type { Logger } from '@lotse/logger';

export interface PeriodicJob {
  stop(): Promise<void>;
}

/**
 * Runs `run` every `intervalMs` (never when 0), one run at a time: the next waits for the one
 * before, so a slow pass never overlaps itself. A failed run is logged and tried at the next tick.
 */
export function startPeriodic(what: string, intervalMs: number, logger: Logger, run: () => Promise<unknown>): PeriodicJob {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    if (stopped || intervalMs <= 0) return;
    timer = setTimeout(() => {
      running = run()
        .catch((err) => logger.error({ err }, `${what} failed; trying again next run`))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
