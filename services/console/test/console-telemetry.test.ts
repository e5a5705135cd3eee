// The console's OTLP receiver and trace API against the real PostgreSQL, and the retention that
// deletes old spans.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforceRetention } from '../src/store/retention.js';
import { kv, ns, startConsoleFixture, traceId, traces, type ConsoleUnderTest } from './support/console-fixture.js';

let operatorConsole: ConsoleUnderTest;
beforeAll(async () => {
  operatorConsole = await startConsoleFixture();
}, 60_000);
afterAll(() => operatorConsole?.stop());

describe('OTLP receiver and trace API', () => {
  it('stores spans and logs and serves the trace as a waterfall with its log lines', async () => {
    expect((await operatorConsole.post('/v1/traces', traces)).status).toBe(200);
    const logs = { resourceLogs: [{ resource: { attributes: [kv('service.name', 'hub')] }, scopeLogs: [{ logRecords: [{ timeUnixNano: ns(60), severityText: 'WARN', body: { stringValue: 'event handling failed; will retry' }, traceId, spanId: '0000000000000003' }] }] }] };
    expect((await operatorConsole.post('/v1/logs', gzipSync(JSON.stringify(logs)), { 'content-encoding': 'gzip' })).status).toBe(200);

    const { status: code, body: trace } = await operatorConsole.get(`/api/traces/${traceId}`);
    expect(code).toBe(200);
    expect(trace.rows.map((r: any) => [r.service, r.depth])).toEqual([
      ['kv-mayen-koblenz', 0],
      ['kv-mayen-koblenz', 1],
      ['hub', 2],
    ]);
    expect(trace.durationUs).toBe(290_000);
    expect(trace.errors).toBe(1);
    expect(trace.rows[2].events[0].name).toBe('exception');
    expect(trace.services.map((s: any) => s.service)).toEqual(['kv-mayen-koblenz', 'hub']);
    expect(trace.logs).toEqual([expect.objectContaining({ service: 'hub', severity: 'WARN', body: 'event handling failed; will retry', spanId: '0000000000000003' })]);
    expect(trace.caseRefs).toEqual(['C-TEST1']);
  });

  it('finds traces by service, operation, duration, error and case reference', async () => {
    const ids = async (q: string) => (await operatorConsole.get(`/api/traces?${q}`)).body.traces.map((t: any) => t.traceId);
    expect(await ids('service=hub')).toContain(traceId);
    expect(await ids('service=hub&operation=consume%20lotse.kv-mayen-koblenz.referral-requested&minDurationMs=200&errors=1')).toEqual([traceId]);
    expect(await ids('service=hub&minDurationMs=300')).toEqual([]);
    expect(await ids('caseRef=C-TEST1')).toEqual([traceId]);
    const [summary] = (await operatorConsole.get('/api/traces?caseRef=C-TEST1')).body.traces;
    expect(summary).toMatchObject({ rootService: 'kv-mayen-koblenz', rootName: 'ForeignOfficeService/RequestReferral', spans: 3, errors: 1 });
    expect((await operatorConsole.get('/api/operations')).body.hub).toEqual(['consume lotse.kv-mayen-koblenz.referral-requested']);
  });

  it('derives the map edges: events consumed and gRPC calls served', async () => {
    const { body } = await operatorConsole.get('/api/map?minutes=60');
    expect(body.edges).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: 'kv-mayen-koblenz', target: 'hub', kind: 'event', count: 1, errors: 1 }),
        expect.objectContaining({ source: 'caritas-koblenz', target: 'kv-mayen-koblenz', kind: 'grpc', count: 1, errors: 0 }),
      ]),
    );
    expect(body.nodes.map((n: any) => n.id)).toEqual(expect.arrayContaining(['hub', 'kv-mayen-koblenz', 'caritas-koblenz']));
  });

  it('takes metrics, and refuses protobuf and malformed bodies with a clear answer', async () => {
    const metrics = { resourceMetrics: [{ resource: { attributes: [kv('service.name', 'hub')] }, scopeMetrics: [{ metrics: [{ name: 'lotse.outbox.backlog', gauge: { dataPoints: [{ timeUnixNano: ns(0), asInt: '2' }] } }] }] }] };
    expect((await operatorConsole.post('/v1/metrics', metrics)).status).toBe(200);
    const series = (await operatorConsole.get('/api/health/series?minutes=5')).body;
    expect(series.backlogMetric).toEqual([expect.objectContaining({ service: 'hub', value: 2 })]);
    const proto = await operatorConsole.post('/v1/traces', new Uint8Array([1, 2, 3]), { 'content-type': 'application/x-protobuf' });
    expect(proto.status).toBe(415);
    expect(proto.body.message).toMatch(/JSON/);
    expect((await operatorConsole.post('/v1/traces', '{not json')).status).toBe(400);
    expect((await operatorConsole.post('/v1/traces', { resourceSpans: 5 })).status).toBe(400);
  });

  it('does not store traces of its own polling', async () => {
    const metadata = operatorConsole.running.watcher.quiet.metadata();
    const quietTrace = String(metadata.get('traceparent')[0]).split('-')[1]!;
    await operatorConsole.post('/v1/traces', { resourceSpans: [{ resource: { attributes: [kv('service.name', 'hub')] }, scopeSpans: [{ spans: [{ traceId: quietTrace, spanId: '00000000000000aa', name: 'OperatorService/GetOutboxStatus', kind: 2, startTimeUnixNano: ns(0), endTimeUnixNano: ns(1) }] }] }] });
    expect((await operatorConsole.get(`/api/traces/${quietTrace}`)).status).toBe(404);
  });
});

describe('retention', () => {
  it('deletes spans beyond the age and count limits', async () => {
    const { db } = operatorConsole.running.store;
    const spanRows = Array.from({ length: 30 }, (_, i) => ({
      trace_id: 'b2'.repeat(16),
      span_id: (i + 1).toString(16).padStart(16, '0'),
      parent_span_id: null,
      service: 'old',
      name: 'x',
      kind: 1,
      start_us: 1_000 + i,
      end_us: 1_001 + i,
      duration_us: 1,
      status_code: 0,
      status_message: null,
      error: false,
      case_ref: null,
      event_type: null,
      subject: null,
      producer: null,
      caller: null,
      attributes: '{}',
      events: '[]',
      links: '[]',
    }));
    await db.insertInto('span').values(spanRows).execute();
    const count = async () => Number((await db.selectFrom('span').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    // Age: the 30 spans from 1970 go; the count limit keeps the newest 2 of what is left.
    const removed = await enforceRetention(db, { maxAgeHours: 24, maxSpans: 2 }, Date.now() * 1000);
    expect(removed.spans).toBe(before - 2);
    expect(await count()).toBe(2);
    const kept = await db.selectFrom('span').select(['service', 'start_us']).execute();
    expect(kept.every((k) => k.service !== 'old')).toBe(true);
  });
});

