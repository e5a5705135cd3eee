import { sql, type Kysely } from '@lotse/db';
import type { ConsoleDb } from '../db/schema.js';

export interface RetentionLimits {
  maxAgeHours: number;
  maxSpans: number;
}

export interface RetentionResult {
  spans: number;
  logs: number;
  metricPoints: number;
  samples: number;
}

const BATCH = 20_000;

/**
 * Deletes what is older than the age limit, then the oldest spans beyond the count limit. In
 * batches, so a large clean-up never holds the (possibly single, embedded) connection for long.
 */
export async function enforceRetention(db: Kysely<ConsoleDb>, limits: RetentionLimits, nowUs: number): Promise<RetentionResult> {
  const cutoff = nowUs - limits.maxAgeHours * 3_600_000_000;
  const result: RetentionResult = { spans: 0, logs: 0, metricPoints: 0, samples: 0 };
  result.spans += await deleteBatched(db, 'span', 'start_us', cutoff);
  result.logs += await deleteBatched(db, 'log_record', 'time_us', cutoff);
  result.metricPoints += await deleteBatched(db, 'metric_point', 'time_us', cutoff);
  result.samples += await deleteBatched(db, 'stream_sample', 'time_us', cutoff);
  result.samples += await deleteBatched(db, 'deployment_sample', 'time_us', cutoff);

  // The estimate is cheap; count exactly only when it says we may be over the limit.
  const { rows } = await sql<{ n: number }>`select greatest(reltuples, 0)::bigint as n from pg_class where relname = 'span'`.execute(db);
  const estimate = Number(rows[0]?.n ?? 0);
  if (estimate > limits.maxSpans * 0.9 || estimate === 0) {
    const { rows: exact } = await sql<{ n: number }>`select count(*)::bigint as n from span`.execute(db);
    const excess = Number(exact[0]?.n ?? 0) - limits.maxSpans;
    if (excess > 0) {
      // The start time of the excess-th oldest span, from the start_us index.
      const { rows: edge } = await sql<{ start_us: number }>`select start_us from span order by start_us asc offset ${excess - 1} limit 1`.execute(db);
      const oldestKept = Number(edge[0]?.start_us ?? 0);
      if (oldestKept) result.spans += await deleteBatched(db, 'span', 'start_us', oldestKept + 1);
    }
  }
  return result;
}

async function deleteBatched(db: Kysely<ConsoleDb>, table: string, column: string, before: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { numAffectedRows } = await sql`
      delete from ${sql.table(table)} where ctid in (
        select ctid from ${sql.table(table)} where ${sql.ref(column)} < ${before} limit ${BATCH}
      )`.execute(db);
    const n = Number(numAffectedRows ?? 0);
    total += n;
    if (n < BATCH) return total;
  }
}
