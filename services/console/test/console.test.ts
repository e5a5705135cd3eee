// The console against the real PostgreSQL: OTLP/HTTP JSON in, the views' JSON API out; the hub
// and a deployment's OperatorService are stand-ins served with the same gRPC server and mTLS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { common, envelope, events, lotsenhaus, operator } from '@lotse/contracts';
import { GrpcServer, NotFoundError, type CallContext } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import type { TestDatabase } from '@lotse/db';
import { createTestDatabase, dropWhenIdle, natsUrl, waitFor } from '@lotse/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toConfig, type RunningConsole } from '../src/index.js';
import { enforceRetention } from '../src/store/retention.js';

const logger = createLogger('console-test', { level: 'silent' });
let dir: string;
let database: TestDatabase;
let service: ReturnType<typeof create>;
let running: RunningConsole;
let fake: GrpcServer;
let base: string;
const replayCalls: { operatorName: string; caller: string }[] = [];

const traceId = 'a1'.repeat(16);
const t0 = Date.now() * 1_000_000; // ns
const ns = (ms: number) => String(BigInt(t0) + BigInt(Math.round(ms * 1_000_000)));
const kv = (key: string, value: string | number) => ({ key, value: typeof value === 'number' ? { intValue: value } : { stringValue: value } });

function parked(id: string, state: Partial<operator.ParkedMessage> = {}): operator.ParkedMessage {
  const payload = events.ReferralAccepted.encode(events.ReferralAccepted.fromPartial({ referralId: 'r-1', caseRef: 'C-TEST1', providerId: 'caritas-koblenz' })).finish();
  const data = envelope.Envelope.encode({ eventId: 'e-1', eventType: 'ReferralAccepted', occurredAt: new Date(), producerAgencyId: 'caritas-koblenz', caseRef: 'C-TEST1', schemaVersion: 1, payload: Buffer.from(payload) }).finish();
  return operator.ParkedMessage.fromPartial({ parkedId: id, consumer: 'hub', stream: 'LOTSE_CARITAS_KOBLENZ', subject: 'lotse.caritas-koblenz.referral-accepted', eventId: 'e-1', eventType: 'ReferralAccepted', caseRef: 'C-TEST1', data: Buffer.from(data), error: 'unknown referral r-1', deliveries: 5, parkedAt: new Date(), ...state });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-console-test-'));
  const pki = join(dir, 'pki');
  await ensureDevPki(pki, [
    { id: 'console', agencyType: 'operator' },
    { id: 'hub', agencyType: 'lotsenhaus' },
  ]);
  // One stand-in deployment: the hub's read API and an OperatorService with one parked message.
  const messages = new Map([['1', parked('1')]]);
  fake = new GrpcServer({ identity: loadIdentity(pki, 'hub'), logger });
  fake.add(lotsenhaus.LotsenhausServiceService, 'lotse/lotsenhaus/v1/lotsenhaus.proto', {
    async getCaseTimeline(req: lotsenhaus.GetCaseTimelineRequest) {
      if (req.caseRef !== 'C-TEST1') throw new NotFoundError('case_ref', req.caseRef, 'case');
      return {
        caseSummary: lotsenhaus.CaseSummary.fromPartial({ caseRef: 'C-TEST1', status: common.ReferralStatus.REFERRAL_STATUS_PENDING, currentAgencyId: 'caritas-koblenz', referralId: 'r-1', municipality: 'koblenz', ageGroup: common.AgeGroup.AGE_GROUP_ADULT, openedAt: new Date(), updatedAt: new Date() }),
        entries: [lotsenhaus.TimelineEntry.fromPartial({ eventId: 'e-0', eventType: 'ReferralRequested', agencyId: 'kv-mayen-koblenz', occurredAt: new Date(), traceId, summary: 'requested' })],
      };
    },
    async listCases() {
      return { cases: [], nextPageToken: '' };
    },
    async listProviders() {
      return { providers: [] };
    },
    async listErasures() {
      return { erasures: [], nextPageToken: '' };
    },
  } as any);
  fake.add(operator.OperatorServiceService, 'lotse/operator/v1/operator.proto', {
    async listParkedMessages(req) {
      return { messages: [...messages.values()].filter((m) => req.includeResolved || (!m.replayedAt && !m.discardedAt)) };
    },
    async replayParkedMessage(req, call: CallContext) {
      replayCalls.push({ operatorName: req.operatorName, caller: call.caller.agencyId });
      const m = messages.get(req.parkedId);
      if (!m) throw new NotFoundError('parked_id', req.parkedId, 'parked message');
      m.replayedAt = new Date();
      return { message: m };
    },
    async discardParkedMessage(req) {
      const m = messages.get(req.parkedId)!;
      m.discardedAt = new Date();
      return { message: m };
    },
    async getOutboxStatus() {
      return {
        backlog: 3,
        parked: [...messages.values()].filter((m) => !m.replayedAt && !m.discardedAt).length,
        oldestUnpublishedAt: undefined,
        streamResets: 1,
        lastStreamResetAt: new Date('2026-11-20T10:00:00Z'),
        republishedAtLastReset: 7,
        confirmedBefore: undefined,
        durablesRecreated: 2,
        awaiting: [{ eventType: 'ReferralRequested', waitsOn: 'lotsenhaus', waiting: 4, stuck: 1, oldestAt: new Date('2026-11-20T09:00:00Z') }],
      };
    },
    async reconcile() {
      return { republished: 0 };
    },
  });
  const port = await fake.listen('127.0.0.1', 0);

  database = await createTestDatabase('lotse_console_test');
  const config = toConfig({
    DATABASE_URL: database.url,
    PKI_DIR: pki,
    HTTP_PORT: '0',
    NATS_URL: natsUrl,
    DEPLOYMENTS: `hub=127.0.0.1:${port}`,
    HUB_ID: 'hub',
    POLL_INTERVAL_SECONDS: '1',
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN: adminToken,
    OTLP_TOKENS: `hub=${otlpToken}`,
  });
  service = create(config, { logger });
  running = await service.start();
  base = running.url;
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await fake?.stop(100);
  if (database) await dropWhenIdle(database);
  rmSync(dir, { recursive: true, force: true });
});

const adminToken = 'test-operator-token-0123456789';
const otlpToken = 'test-otlp-token-hub-0123456789';

/** A POST as the network's own would send it: telemetry with the deployment's token, API calls as the operator. */
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const authorization = `Bearer ${path.startsWith('/v1/') ? otlpToken : adminToken}`;
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization, ...headers }, body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}
const get = async (path: string) => {
  const res = await fetch(base + path);
  return { status: res.status, body: (await res.json()) as any };
};

const traces = {
  resourceSpans: [
    {
      resource: { attributes: [kv('service.name', 'kv-mayen-koblenz')] },
      scopeSpans: [
        {
          spans: [
            { traceId, spanId: '0000000000000001', name: 'ForeignOfficeService/RequestReferral', kind: 2, startTimeUnixNano: ns(0), endTimeUnixNano: ns(30), attributes: [kv('lotse.case_ref', 'C-TEST1'), kv('lotse.caller_agency', 'caritas-koblenz')] },
            { traceId, spanId: '0000000000000002', parentSpanId: '0000000000000001', name: 'publish lotse.kv-mayen-koblenz.referral-requested', kind: 4, startTimeUnixNano: ns(20), endTimeUnixNano: ns(25), attributes: [kv('messaging.destination.name', 'lotse.kv-mayen-koblenz.referral-requested')] },
          ],
        },
      ],
    },
    {
      resource: { attributes: [kv('service.name', 'hub')] },
      scopeSpans: [
        {
          spans: [
            {
              traceId,
              spanId: '0000000000000003',
              parentSpanId: '0000000000000002',
              name: 'consume lotse.kv-mayen-koblenz.referral-requested',
              kind: 5,
              startTimeUnixNano: ns(40),
              endTimeUnixNano: ns(290),
              attributes: [kv('messaging.destination.name', 'lotse.kv-mayen-koblenz.referral-requested'), kv('lotse.event_type', 'ReferralRequested')],
              events: [{ timeUnixNano: ns(50), name: 'exception', attributes: [kv('exception.message', 'first try failed')] }],
              status: { code: 2, message: 'first try failed' },
            },
          ],
        },
      ],
    },
  ],
};

describe('OTLP receiver and trace API', () => {
  it('stores spans and logs and serves the trace as a waterfall with its log lines', async () => {
    expect((await post('/v1/traces', traces)).status).toBe(200);
    const logs = { resourceLogs: [{ resource: { attributes: [kv('service.name', 'hub')] }, scopeLogs: [{ logRecords: [{ timeUnixNano: ns(60), severityText: 'WARN', body: { stringValue: 'event handling failed; will retry' }, traceId, spanId: '0000000000000003' }] }] }] };
    expect((await post('/v1/logs', gzipSync(JSON.stringify(logs)), { 'content-encoding': 'gzip' })).status).toBe(200);

    const { status: code, body: trace } = await get(`/api/traces/${traceId}`);
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
    const ids = async (q: string) => (await get(`/api/traces?${q}`)).body.traces.map((t: any) => t.traceId);
    expect(await ids('service=hub')).toContain(traceId);
    expect(await ids('service=hub&operation=consume%20lotse.kv-mayen-koblenz.referral-requested&minDurationMs=200&errors=1')).toEqual([traceId]);
    expect(await ids('service=hub&minDurationMs=300')).toEqual([]);
    expect(await ids('caseRef=C-TEST1')).toEqual([traceId]);
    const [summary] = (await get('/api/traces?caseRef=C-TEST1')).body.traces;
    expect(summary).toMatchObject({ rootService: 'kv-mayen-koblenz', rootName: 'ForeignOfficeService/RequestReferral', spans: 3, errors: 1 });
    expect((await get('/api/operations')).body.hub).toEqual(['consume lotse.kv-mayen-koblenz.referral-requested']);
  });

  it('derives the map edges: events consumed and gRPC calls served', async () => {
    const { body } = await get('/api/map?minutes=60');
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
    expect((await post('/v1/metrics', metrics)).status).toBe(200);
    const series = (await get('/api/health/series?minutes=5')).body;
    expect(series.backlogMetric).toEqual([expect.objectContaining({ service: 'hub', value: 2 })]);
    const proto = await post('/v1/traces', new Uint8Array([1, 2, 3]), { 'content-type': 'application/x-protobuf' });
    expect(proto.status).toBe(415);
    expect(proto.body.message).toMatch(/JSON/);
    expect((await post('/v1/traces', '{not json')).status).toBe(400);
    expect((await post('/v1/traces', { resourceSpans: 5 })).status).toBe(400);
  });

  it('does not store traces of its own polling', async () => {
    const metadata = running.watcher.quiet.metadata();
    const quietTrace = String(metadata.get('traceparent')[0]).split('-')[1]!;
    await post('/v1/traces', { resourceSpans: [{ resource: { attributes: [kv('service.name', 'hub')] }, scopeSpans: [{ spans: [{ traceId: quietTrace, spanId: '00000000000000aa', name: 'OperatorService/GetOutboxStatus', kind: 2, startTimeUnixNano: ns(0), endTimeUnixNano: ns(1) }] }] }] });
    expect((await get(`/api/traces/${quietTrace}`)).status).toBe(404);
  });
});

describe('cases, health and dead letters through the deployments', () => {
  it('shows a case from the hub with the trace of each step', async () => {
    const { body } = await get('/api/cases/C-TEST1');
    expect(body.summary).toMatchObject({ caseRef: 'C-TEST1', waitsOn: 'caritas-koblenz', status: 'REFERRAL_STATUS_PENDING', ageGroup: 'adult' });
    expect(body.timeline).toEqual([expect.objectContaining({ eventType: 'ReferralRequested', traceId, trace: expect.objectContaining({ spans: 3, services: ['hub', 'kv-mayen-koblenz'] }) })]);
    expect((await get('/api/cases/C-NOPE')).status).toBe(404);
  });

  it('polls health and outbox of every deployment', async () => {
    await waitFor(async () => (await get('/api/overview')).body.deployments[0].health === 'SERVING', 'the stand-in to be seen serving');
    const { body } = await get('/api/overview');
    expect(body.deployments[0]).toMatchObject({
      id: 'hub',
      hub: true,
      operatorApi: 'ok',
      outbox: {
        backlog: 3,
        parked: 1,
        streamResets: 1,
        lastStreamResetAt: '2026-11-20T10:00:00.000Z',
        republishedAtLastReset: 7,
        durablesRecreated: 2,
        awaiting: [{ eventType: 'ReferralRequested', waitsOn: 'lotsenhaus', waiting: 4, stuck: 1, oldestAt: '2026-11-20T09:00:00.000Z' }],
      },
    });
    expect((await get('/api/health/series?minutes=5')).body.deployments.length).toBeGreaterThan(0);
  });

  it('refuses replay and discard without the operator token, and telemetry from outside the network', async () => {
    const anonymous = { authorization: '' };
    expect((await post('/api/dead-letters/hub/1/replay', { operator: 'Intruder' }, anonymous)).status).toBe(401);
    expect((await post('/api/dead-letters/hub/1/discard', { operator: 'Intruder', reason: 'x' }, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await post('/api/login', { token: 'wrong-token-0123456789' }, anonymous)).status).toBe(401);
    expect(replayCalls).toEqual([]);
    // Telemetry: no token, a wrong one, or the operator's (which is no deployment's) are refused.
    const span = { resourceSpans: [{ resource: { attributes: [kv('service.name', 'intruder')] }, scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'forged', kind: 2, startTimeUnixNano: ns(0), endTimeUnixNano: ns(1) }] }] }] };
    for (const authorization of ['', 'Bearer wrong-token-0123456789', `Bearer ${adminToken}`]) {
      expect((await post('/v1/traces', span, { authorization })).status).toBe(401);
    }
    expect((await get(`/api/traces/${'ab'.repeat(16)}`)).status).toBe(404);
    // Logging in sets an HttpOnly, SameSite=Strict cookie that then authorises the page's calls.
    const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: adminToken }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    // Past the operator check, on to the request's own (no name given): 400, not 401.
    const withCookie = await post('/api/dead-letters/hub/1/replay', { operator: '' }, { authorization: '', cookie: cookie.split(';')[0]! });
    expect(withCookie.status).toBe(400);
    expect(replayCalls).toEqual([]);
  });

  it('lists, decodes and replays a parked message, and records who asked', async () => {
    const list = (await get('/api/dead-letters')).body;
    expect(list.unavailable).toEqual([]);
    expect(list.messages).toEqual([expect.objectContaining({ deployment: 'hub', parkedId: '1', eventType: 'ReferralAccepted', state: 'open' })]);
    const inspected = (await get('/api/dead-letters/hub/1')).body;
    expect(inspected.decoded.envelope).toMatchObject({ eventType: 'ReferralAccepted', producerAgencyId: 'caritas-koblenz' });
    expect(inspected.decoded.payload).toMatchObject({ referralId: 'r-1', providerId: 'caritas-koblenz' });

    expect((await post('/api/dead-letters/hub/1/replay', { operator: '' })).status).toBe(400);
    expect((await post('/api/dead-letters/hub/1/discard', { operator: 'Jana' })).status).toBe(400);
    const form = await fetch(`${base}/api/dead-letters/hub/1/replay`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${adminToken}` }, body: 'operator=x' });
    expect(form.status).toBe(415);
    const replay = await post('/api/dead-letters/hub/1/replay', { operator: 'Jana Operator' });
    expect(replay.status).toBe(200);
    expect(replay.body.message.state).toBe('replayed');
    expect(replayCalls).toEqual([{ operatorName: 'Jana Operator', caller: 'console' }]);
    const missing = await post('/api/dead-letters/hub/99/replay', { operator: 'Jana Operator' });
    expect(missing.status).toBe(404);
    const { actions } = (await get('/api/actions')).body;
    expect(actions.map((a: any) => [a.action, a.operator_name, a.outcome])).toEqual([
      ['replay', 'Jana Operator', 'NOT_FOUND'],
      ['replay', 'Jana Operator', 'ok'],
    ]);
    expect((await get('/api/dead-letters')).body.messages).toEqual([]);
  });

  it('asks the hub for erasures, and serves the web page', async () => {
    expect((await get('/api/erasures')).body).toEqual({ source: 'hub', erasures: [] });
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Operator console');
    expect((await fetch(`${base}/../package.json`)).status).toBe(404);
  });
});

describe('retention', () => {
  it('deletes spans beyond the age and count limits', async () => {
    const { db } = running.store;
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

