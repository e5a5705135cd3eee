import { sql, type Kysely } from '@lotse/db';
import type { Insertable } from 'kysely';
import type { ConsoleDb, LogTable, MetricPointTable, SpanTable } from '../db/schema.js';
import { buildWaterfall } from '../traces/waterfall.js';
import { BatchWriter } from './batch-writer.js';
import { toLogView, toSpanView, type FlowEdge, type SpanView, type TraceDetail, type TraceQuery, type TraceSummary } from './telemetry-views.js';

/** Everything the console keeps of the network's telemetry, and the queries its views make. */
export class TelemetryStore {
  private readonly spans: BatchWriter<Insertable<SpanTable>>;
  private readonly logs: BatchWriter<Insertable<LogTable>>;
  private readonly metrics: BatchWriter<Insertable<MetricPointTable>>;
  /** (service, operation) pairs seen, for the search form; kept in memory. */
  private readonly operations = new Map<string, Set<string>>();
  ingested = { spans: 0, logs: 0, metrics: 0, lastAtMs: 0 };

  constructor(readonly db: Kysely<ConsoleDb>) {
    this.spans = new BatchWriter(async (rows) => {
      await db.insertInto('span').values(rows).onConflict((oc) => oc.columns(['trace_id', 'span_id']).doNothing()).execute();
    });
    this.logs = new BatchWriter(async (rows) => {
      await db.insertInto('log_record').values(rows).execute();
    });
    this.metrics = new BatchWriter(async (rows) => {
      await db.insertInto('metric_point').values(rows).execute();
    });
  }

  async loadOperations(): Promise<void> {
    // A loose index scan over (service, name): fast even with millions of spans.
    const { rows } = await sql<{ service: string; name: string }>`
      with recursive pairs as (
        (select service, name from span order by service, name limit 1)
        union all
        select next.service, next.name from pairs, lateral (
          select service, name from span where (service, name) > (pairs.service, pairs.name) order by service, name limit 1
        ) next
      ) select service, name from pairs`.execute(this.db);
    for (const r of rows) this.noteOperation(r.service, r.name);
  }

  private noteOperation(service: string, name: string): void {
    let names = this.operations.get(service);
    if (!names) this.operations.set(service, (names = new Set()));
    if (names.size < 500) names.add(name);
  }

  async addSpans(rows: Insertable<SpanTable>[]): Promise<void> {
    for (const r of rows) this.noteOperation(r.service, r.name);
    await this.spans.add(rows);
    this.ingested.spans += rows.length;
    this.ingested.lastAtMs = Date.now();
  }

  async addLogs(rows: Insertable<LogTable>[]): Promise<void> {
    await this.logs.add(rows);
    this.ingested.logs += rows.length;
    this.ingested.lastAtMs = Date.now();
  }

  async addMetrics(rows: Insertable<MetricPointTable>[]): Promise<void> {
    await this.metrics.add(rows);
    this.ingested.metrics += rows.length;
    this.ingested.lastAtMs = Date.now();
  }

  async flush(): Promise<void> {
    await Promise.all([this.spans.flush(), this.logs.flush(), this.metrics.flush()]);
  }

  serviceOperations(): Record<string, string[]> {
    return Object.fromEntries([...this.operations].sort(([a], [b]) => a.localeCompare(b)).map(([s, names]) => [s, [...names].sort()]));
  }

  async trace(traceId: string): Promise<TraceDetail | undefined> {
    const rows = await this.db.selectFrom('span').selectAll().where('trace_id', '=', traceId).limit(5000).execute();
    if (rows.length === 0) return undefined;
    const spans = rows.map(toSpanView);
    const logs = await this.db
      .selectFrom('log_record')
      .selectAll()
      .where('trace_id', '=', traceId)
      .orderBy('time_us')
      .limit(2000)
      .execute();
    return {
      traceId,
      ...buildWaterfall(spans),
      caseRefs: [...new Set(spans.map((s) => s.caseRef).filter((c): c is string => !!c))],
      logs: logs.map(toLogView),
    };
  }

  /** Newest traces with a span that matches every given criterion. */
  async searchTraces(q: TraceQuery): Promise<TraceSummary[]> {
    const limit = Math.min(Math.max(q.limit ?? 30, 1), 200);
    let query = this.db.selectFrom('span').select(['trace_id', 'start_us']).orderBy('start_us', 'desc');
    if (q.service) query = query.where('service', '=', q.service);
    if (q.operation) query = query.where('name', '=', q.operation);
    if (q.minDurationMs) query = query.where('duration_us', '>=', Math.round(q.minDurationMs * 1000));
    if (q.errorsOnly) query = query.where('error', '=', true);
    if (q.caseRef) query = query.where('case_ref', '=', q.caseRef).where('case_ref', 'is not', null);
    if (q.eventType) query = query.where('event_type', '=', q.eventType).where('event_type', 'is not', null);
    if (q.beforeUs) query = query.where('start_us', '<', q.beforeUs);
    // Several matching spans share a trace; fetch enough to find `limit` distinct traces.
    const matches = await query.limit(limit * 8).execute();
    const ids: string[] = [];
    for (const m of matches) {
      if (!ids.includes(m.trace_id)) ids.push(m.trace_id);
      if (ids.length >= limit) break;
    }
    return this.summaries(ids);
  }

  async summaries(traceIds: string[]): Promise<TraceSummary[]> {
    if (traceIds.length === 0) return [];
    const stats = await this.db
      .selectFrom('span')
      .select((eb) => [
        'trace_id',
        eb.fn.countAll<number>().as('spans'),
        sql<number>`count(*) filter (where error)`.as('errors'),
        eb.fn.min('start_us').as('start_us'),
        eb.fn.max('end_us').as('end_us'),
        sql<string[]>`array_agg(distinct service)`.as('services'),
        sql<string[]>`array_remove(array_agg(distinct case_ref), null)`.as('case_refs'),
      ])
      .where('trace_id', 'in', traceIds)
      .groupBy('trace_id')
      .execute();
    const roots = await this.db
      .selectFrom('span')
      .select(['trace_id', 'service', 'name'])
      .distinctOn('trace_id')
      .where('trace_id', 'in', traceIds)
      .orderBy('trace_id')
      .orderBy(sql`parent_span_id is not null`)
      .orderBy('start_us')
      .execute();
    const rootOf = new Map(roots.map((r) => [r.trace_id, r]));
    const byId = new Map(stats.map((s) => [s.trace_id, s]));
    return traceIds
      .map((id) => byId.get(id))
      .filter((s): s is NonNullable<typeof s> => !!s)
      .map((s) => ({
        traceId: s.trace_id,
        rootService: rootOf.get(s.trace_id)?.service ?? '',
        rootName: rootOf.get(s.trace_id)?.name ?? '',
        startUs: Number(s.start_us),
        durationUs: Number(s.end_us) - Number(s.start_us),
        spans: Number(s.spans),
        errors: Number(s.errors),
        services: s.services,
        caseRefs: s.case_refs,
      }));
  }

  /**
   * Flows between deployments in the last windowMinutes: events consumed and gRPC calls served.
   * Per service, the same spans count as the work it handled. One pass over the partial index of
   * flow spans (a tenth of all spans), so a day's window stays fast with a million spans stored.
   */
  async flows(nowUs: number, windowMinutes = 15): Promise<{ edges: FlowEdge[]; services: { service: string; spans: number; errors: number }[] }> {
    const since = nowUs - windowMinutes * 60_000_000;
    const rows = await this.db
      .selectFrom('span')
      .select((eb) => [
        sql<string>`coalesce(producer, caller)`.as('source'),
        'service as target',
        sql<string>`case when kind = 5 then 'event' else 'grpc' end`.as('kind'),
        eb.fn.countAll<number>().as('count'),
        sql<number>`count(*) filter (where error)`.as('errors'),
      ])
      .where('start_us', '>', since)
      .where((eb) => eb.or([eb('producer', 'is not', null), eb('caller', 'is not', null)]))
      .groupBy([sql`coalesce(producer, caller)`, 'service', sql`case when kind = 5 then 'event' else 'grpc' end`])
      .execute();
    const services = new Map<string, { service: string; spans: number; errors: number }>();
    for (const r of rows) {
      const s = services.get(r.target) ?? { service: r.target, spans: 0, errors: 0 };
      s.spans += Number(r.count);
      s.errors += Number(r.errors);
      services.set(r.target, s);
    }
    return {
      edges: rows
        .filter((r) => r.source !== r.target)
        .map((r) => ({
          source: r.source,
          target: r.target,
          kind: r.kind as 'event' | 'grpc',
          count: Number(r.count),
          errors: Number(r.errors),
          perMinute: Number(r.count) / windowMinutes,
          errorRate: Number(r.count) ? Number(r.errors) / Number(r.count) : 0,
        })),
      services: [...services.values()],
    };
  }

  /** Spans of the given event types, newest first (erasure confirmations and the like). */
  async eventSpans(eventTypes: string[], limit = 200): Promise<SpanView[]> {
    if (eventTypes.length === 0) return [];
    const rows = await this.db
      .selectFrom('span')
      .selectAll()
      .where('event_type', 'in', eventTypes)
      .orderBy('start_us', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toSpanView);
  }

  /** Values of a metric per service over time, for the charts. */
  async metricSeries(name: string, sinceUs: number): Promise<{ service: string; timeUs: number; value: number }[]> {
    const rows = await this.db
      .selectFrom('metric_point')
      .select(['service', 'time_us', 'value'])
      .where('name', '=', name)
      .where('time_us', '>', sinceUs)
      .orderBy('time_us')
      .limit(20_000)
      .execute();
    return rows.map((r) => ({ service: r.service, timeUs: Number(r.time_us), value: r.value }));
  }

  async counts(): Promise<{ spans: number; logs: number; metricPoints: number }> {
    // The planner's estimate for big tables: an exact count of millions of rows is a full scan.
    const { rows } = await sql<{ relname: string; n: number }>`
      select relname, greatest(reltuples, 0)::bigint as n from pg_class where relname in ('span', 'log_record', 'metric_point')`.execute(this.db);
    const estimate = (name: string) => Number(rows.find((r) => r.relname === name)?.n ?? 0);
    const exactBelow = 200_000;
    const count = async (table: 'span' | 'log_record' | 'metric_point') => {
      if (estimate(table) >= exactBelow) return estimate(table);
      const row = await this.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    };
    return { spans: await count('span'), logs: await count('log_record'), metricPoints: await count('metric_point') };
  }
}
