/**
 * The whole of a service's main after its config: start, then stop cleanly on SIGTERM/SIGINT.
 * A failed start exits non-zero so a supervisor (the launcher, Docker) restarts it.
 */
export async function runUntilSignal(service: { start(): Promise<unknown>; stop(): Promise<void> }): Promise<void> {
  try {
    await service.start();
  } catch (error) {
    process.stderr.write(`start-up failed: ${(error as Error).stack ?? error}\n`);
    await service.stop().catch(() => undefined);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => {
      process.stderr.write(`did not stop within 10 s after ${signal}; exiting\n`);
      process.exit(1);
    }, 10_000);
    timer.unref();
    await service.stop();
    // No process.exit(): letting the event loop drain lets the telemetry preload flush its spans.
    process.exitCode = 0;
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
