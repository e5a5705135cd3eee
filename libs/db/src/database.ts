import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Kysely, PostgresDialect, type LogEvent } from 'kysely';
import pg from 'pg';

export interface DatabaseConfig {
  /** PostgreSQL connection string; when absent, an embedded PGlite in dataDir is used. */
  url?: string;
  /** Data folder of the embedded database ("memory://" keeps it in memory). */
  dataDir: string;
  /** Pool size for PostgreSQL (the embedded database has exactly one connection). */
  poolSize?: number;
}

export interface Database<DB> {
  db: Kysely<DB>;
  /** "postgres" or "pglite", for start-up lines and health. */
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

// bigint (int8) columns hold sequence numbers and counts that fit in a JS number.
pg.types.setTypeParser(20, (value: string) => Number(value));

const tracer = trace.getTracer('@lotse/db');

/** One span per statement, parented to the caller's span; the SQL has placeholders, never values. */
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

export async function openDatabase<DB>(config: DatabaseConfig): Promise<Database<DB>> {
  if (config.url) {
    const pool = new pg.Pool({ connectionString: config.url, max: config.poolSize ?? 10 });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log: traceQuery });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  if (!config.dataDir.startsWith('memory://')) mkdirSync(config.dataDir, { recursive: true });
  const pglite = await PGlite.create(config.dataDir);
  // PGlite serves one connection; kysely queues callers on it, so never use `db` inside a
  // transaction callback (use `trx`), or the two wait on each other forever.
  const pool = new pg.Pool(createPgConfig(pglite) as unknown as pg.PoolConfig);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log: traceQuery });
  return {
    db,
    kind: 'pglite',
    close: async () => {
      await db.destroy();
      await pglite.close();
    },
  };
}
