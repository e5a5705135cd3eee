import { sql, type Kysely } from 'kysely';

// Node socket errors and the SQLSTATEs of a server that is gone, going or not yet back:
// class 08 (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown,
// 57P03 cannot_connect_now (starting up or in recovery after an immediate stop).
const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const unavailableMessages = /Connection terminated|connection timeout|Client has encountered a connection error|Connection ended|not queryable|timeout exceeded when trying to connect|the database system is (starting up|shutting down|in recovery)/i;

/**
 * Whether an error means "the database is away" rather than "this statement is wrong": the
 * first is retried without counting against a message (it is no fault of the message), the
 * second is the handler's failure. pg gives socket errors and server errors the same shape.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (socketCodes.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code))) return true;
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string' && unavailableMessages.test(message)) return true;
  // AggregateError (several addresses refused) and errors wrapped by a caller.
  const nested = (error as { errors?: unknown[]; cause?: unknown });
  if (Array.isArray(nested.errors) && nested.errors.some(isDatabaseUnavailable)) return true;
  return nested.cause !== undefined && nested.cause !== error && isDatabaseUnavailable(nested.cause);
}

/** What consumers ask before they touch the database: is it there, and wait (briefly) until it is. */
export interface DatabaseAvailability {
  isUp(): boolean;
  /** Resolves when the database is up again, or after timeoutMs, whichever comes first. */
  whenUp(timeoutMs: number): Promise<void>;
  /** A caller met an error; if it means the database is away, mark it down now and look again soon. */
  noteError(error: unknown): void;
}

export interface DatabaseWatchOptions {
  db: Kysely<any>;
  /** How often to look while up (default 1 s); while down it looks as often. */
  intervalMs?: number;
  /** A ping slower than this is given up (default 2 s) without changing the state. */
  timeoutMs?: number;
  onChange?: (up: boolean, error?: unknown) => void;
}

class PingTimeoutError extends Error {
  constructor(ms: number) {
    super(`database ping took longer than ${ms} ms`);
    this.name = 'PingTimeoutError';
  }
}

/**
 * Pings the database (`select 1`) every second and says when it goes away and comes back. The
 * pool reconnects by itself (a dead client is dropped, the next query opens a new one); this is
 * what tells health checks and consumers that it is worth trying again.
 */
export class DatabaseWatch implements DatabaseAvailability {
  private up = true;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private checking: Promise<void> | undefined;
  private waiters: (() => void)[] = [];
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: DatabaseWatchOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking;
    this.release();
  }

  isUp(): boolean {
    return this.up;
  }

  whenUp(timeoutMs: number): Promise<void> {
    if (this.up || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  noteError(error: unknown): void {
    if (!isDatabaseUnavailable(error)) return;
    this.set(false, error);
    // Look again soon rather than at the next tick: it may have been one dropped connection.
    if (!this.stopped && !this.checking) this.schedule(100);
  }

  /** One look now; resolves with whether the database answered. */
  async check(): Promise<boolean> {
    this.checking ??= this.ping().finally(() => (this.checking = undefined));
    await this.checking;
    return this.up;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.check().finally(() => {
        if (!this.stopped) this.schedule(this.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`select 1`.execute(this.options.db),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new PingTimeoutError(this.timeoutMs)), this.timeoutMs))),
      ]);
      this.set(true);
    } catch (error) {
      // A slow answer is no outage: the embedded database serves one connection, and under load
      // the ping waits its turn behind real work. Calling that NOT_SERVING would pause every
      // consumer exactly when they are busiest. A lost server shows as a connection error (the
      // pool's connect gives up after 5 s); any other failure of `select 1` means it cannot serve.
      if (!(error instanceof PingTimeoutError)) this.set(false, error);
    } finally {
      clearTimeout(timer);
    }
  }

  private set(up: boolean, error?: unknown): void {
    if (this.up === up) return;
    this.up = up;
    this.options.onChange?.(up, error);
    if (up) this.release();
  }

  private release(): void {
    for (const done of this.waiters.splice(0)) done();
  }
}
