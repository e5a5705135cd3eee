import { PGlite } from '@electric-sql/pglite';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Kysely, PostgresDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import { initdb, isInitialised } from './embedded-data-dirs.js';
import { pgliteClientConfig } from './pglite-connection.js';
import { StatementNames } from './prepared-statements.js';

export interface DatabaseConfig {
  /** PostgreSQL connection string; when absent, an embedded PGlite in dataDir is used. */
  url?: string;
  /** Data folder of the embedded database ("memory://" keeps it in memory). */
  dataDir: string;
  /** Pool size for PostgreSQL (the embedded database has exactly one connection). */
  poolSize?: number;
  /**
   * Which statements become spans: "all", "slow" (failed ones and those taking at least
   * slowStatementMs; the default) or "off". A span per statement made ~80% of all spans in the
   * demo network and most of the console's ingest work, while the steps an operator follows are
   * the RPC, publish and consume spans; slow and failed statements are the ones worth a look.
   */
  traceStatements?: StatementTracing;
  /** Threshold for "slow" (default 20 ms). */
  slowStatementMs?: number;
}

export type StatementTracing = 'all' | 'slow' | 'off';
export const statementTracingModes: readonly StatementTracing[] = ['all', 'slow', 'off'];

export interface Database<DB> {
  db: Kysely<DB>;
  /** "postgres" or "pglite", for start-up lines and health. */
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

// bigint (int8) columns hold sequence numbers and counts that fit in a JS number.
pg.types.setTypeParser(20, (value: string) => Number(value));

const tracer = trace.getTracer('@lotse/db');

// PGlite's own defaults (0.5.x), which replacing startParams would otherwise drop.
const pgliteStartParams = [
  '--single', '-F', '-O', '-j',
  '-c', 'search_path=public', '-c', 'exit_on_error=false', '-c', 'log_checkpoints=false',
  '-c', 'max_worker_processes=0', '-c', 'max_parallel_workers=0', '-c', 'max_parallel_workers_per_gather=0',
  '-c', 'io_method=sync', '-c', 'max_parallel_maintenance_workers=0',
];
// A deployment's embedded database is small; 16 MB of buffers instead of 128 MB keeps each
// service near 300 MB resident (the demo network: ~2.5 GB idle). 128 MB measured no faster under
// the scenario (163 vs 147 ms CPU per journey) and ~450 MB per service.
const embeddedSettings = ['-c', 'shared_buffers=16MB', '-c', 'wal_buffers=1MB'];

/** One span per statement, parented to the caller's span; the SQL has placeholders, never values. */
function statementTracer(mode: StatementTracing, slowMs: number): ((event: LogEvent) => void) | undefined {
  if (mode === 'off') return undefined;
  if (mode === 'all') return traceQuery;
  return (event) => {
    if (event.level === 'error' || event.queryDurationMillis >= slowMs) traceQuery(event);
  };
}

function traceQuery(event: LogEvent): void {
  if (!trace.getActiveSpan()) return;
  const end = Date.now();
  const start = end - event.queryDurationMillis;
  const sql = event.query.sql;
  const operation = sql.trimStart().split(/\s/, 1)[0]?.toUpperCase() ?? 'QUERY';
  const span = tracer.startSpan(`pg ${operation}`, {
    kind: SpanKind.CLIENT,
    startTime: start,
    attributes: { 'db.system': 'postgresql', 'db.operation': operation, 'db.statement': sql.slice(0, 500) },
  });
  if (event.level === 'error') {
    span.setStatus({ code: SpanStatusCode.ERROR, message: String((event.error as Error)?.message ?? event.error) });
  }
  span.end(end);
}

export interface DatabaseHooks {
  /** A pooled connection broke (the server stopped or restarted); the pool replaces it on demand. */
  onConnectionError?: (error: Error) => void;
}

/**
 * pg emits 'error' on the pool for a broken idle client and on a client for a connection that
 * breaks while it is checked out between queries. Unheard, either is an uncaught exception that
 * ends the process: a PostgreSQL restart took every deployment down with it. Heard, the pool
 * drops the dead client and opens a new one at the next query.
 */
function survivingConnectionErrors(pool: pg.Pool, hooks: DatabaseHooks): pg.Pool {
  const report = (error: Error) => hooks.onConnectionError?.(error);
  pool.on('error', report);
  pool.on('connect', (client) => client.on('error', report));
  return pool;
}

export async function openDatabase<DB>(config: DatabaseConfig, hooks: DatabaseHooks = {}): Promise<Database<DB>> {
  const log = statementTracer(config.traceStatements ?? 'slow', config.slowStatementMs ?? 20);
  if (config.url) {
    // A bounded connect: while the server is away a caller gets an error in seconds instead of
    // waiting for ever on a connection that never comes.
    const pool = new StatementNames().wrap(
      survivingConnectionErrors(new pg.Pool({ connectionString: config.url, max: config.poolSize ?? 10, connectionTimeoutMillis: 5_000 }), hooks),
    );
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  const inMemory = config.dataDir.startsWith('memory://');
  if (!inMemory && !isInitialised(config.dataDir)) await initdb(config.dataDir);
  const pglite = await PGlite.create(config.dataDir, { startParams: [...pgliteStartParams, ...embeddedSettings] });
  // PGlite serves one connection; kysely queues callers on it, so never use `db` inside a
  // transaction callback (use `trx`), or the two wait on each other forever.
  const pool = new StatementNames().wrap(survivingConnectionErrors(new pg.Pool(pgliteClientConfig(pglite) as unknown as pg.PoolConfig), hooks));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log });
  return {
    db,
    kind: 'pglite',
    close: async () => {
      await db.destroy();
      await pglite.close();
    },
  };
}
