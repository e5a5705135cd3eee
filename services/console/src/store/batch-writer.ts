/**
 * Coalesces inserts: rows added while a write is running go into the next one, so ingest keeps
 * up under load with few, large statements. add() resolves once its rows are committed, which
 * gives the OTLP sender back-pressure and tests a point after which the rows are queryable.
 */
export class BatchWriter<T> {
  private queue: T[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly write: (rows: T[]) => Promise<void>,
    private readonly chunkSize = 1000,
  ) {}

  add(rows: T[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    this.queue.push(...rows);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.running) this.running = this.drain();
    return done;
  }

  /** Resolves when everything added so far is written. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Let the requests that arrive in the same tick join this batch.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length) {
      const rows = this.queue;
      const waiters = this.waiters;
      this.queue = [];
      this.waiters = [];
      try {
        for (let i = 0; i < rows.length; i += this.chunkSize) await this.write(rows.slice(i, i + this.chunkSize));
        for (const w of waiters) w.resolve();
      } catch (error) {
        for (const w of waiters) w.reject(error);
      }
    }
    this.running = undefined;
  }
}
