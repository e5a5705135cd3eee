import type { ServiceError } from '@grpc/grpc-js';
import { common, lotsenhaus, statistics } from '@lotse/contracts';
import type { Kysely } from '@lotse/db';
import type { ConsoleDb } from '../db/schema.js';
import { DeadLetterError, type DeadLetters } from '../operator/dead-letters.js';
import { OtlpFormatError, parseLogs, parseMetrics, parseTraces } from '../otlp/parse.js';
import type { TelemetryStore } from '../store/telemetry-store.js';
import { grpcStatusName, type NetworkWatcher } from '../watch/network-watcher.js';
import { HttpError, type Request, type Router } from './http-server.js';
import type { LiveEvents } from './live-events.js';
import { isAdminToken, operatorCookie, requireOperator, requireTelemetrySender, type ConsoleAuth } from './auth.js';

export interface ApiDeps {
  consoleId: string;
  hubId?: string;
  db: Kysely<ConsoleDb>;
  store: TelemetryStore;
  watcher: NetworkWatcher;
  deadLetters: DeadLetters;
  live: LiveEvents;
  auth: ConsoleAuth;
  now(): number;
}

/** Event types that confirm an erasure after a consent withdrawal (issue: consent withdrawal). */
export const erasureEventTypes = ['ConsentWithdrawn', 'ErasureConfirmed', 'ReceivedDataErased', 'DataErased'];

const statusLabel = (s: number) => common.referralStatusToJSON(s).replace('REFERRAL_STATUS_', '').toLowerCase().replace(/_/g, ' ');
const ageGroupLabel = (a: number) => common.ageGroupToJSON(a).replace('AGE_GROUP_', '').toLowerCase().replace(/_/g, ' ');

function caseSummary(c: lotsenhaus.CaseSummary) {
  return {
    caseRef: c.caseRef,
    status: common.referralStatusToJSON(c.status),
    statusLabel: statusLabel(c.status),
    waitsOn: c.currentAgencyId,
    referralId: c.referralId,
    municipality: c.municipality,
    ageGroup: ageGroupLabel(c.ageGroup),
    openedAt: c.openedAt?.toISOString() ?? null,
    updatedAt: c.updatedAt?.toISOString() ?? null,
  };
}

function fromGrpc(error: unknown, what: string): HttpError {
  const e = error as ServiceError;
  if (typeof e?.code !== 'number') return new HttpError(500, (error as Error).message);
  const name = grpcStatusName(e.code);
  const status = name === 'NOT_FOUND' ? 404 : name === 'INVALID_ARGUMENT' ? 400 : name === 'PERMISSION_DENIED' ? 403 : 502;
  return new HttpError(status, `${what}: ${e.details || name}`, name);
}

function fromDeadLetter(error: unknown): HttpError {
  if (!(error instanceof DeadLetterError)) return error as HttpError;
  const status = { NOT_FOUND: 404, INVALID_ARGUMENT: 400, FAILED_PRECONDITION: 409, PERMISSION_DENIED: 403 }[error.status] ?? 502;
  return new HttpError(status, error.message, error.status);
}

/** POSTs from the page must be JSON: a cross-site form cannot send that without a CORS preflight. */
function requireJson(req: Request): void {
  if (!(req.headers['content-type'] ?? '').includes('application/json')) throw new HttpError(415, 'send application/json', 'UNSUPPORTED_MEDIA_TYPE');
}

const num = (v: string | null) => (v && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined);
const hex = (v: string, n: number, what: string) => {
  if (!new RegExp(`^[0-9a-f]{${n}}$`).test(v)) throw new HttpError(400, `${what} must be ${n} hex digits`, 'INVALID_ARGUMENT');
  return v;
};

export function registerApi(router: Router, deps: ApiDeps): void {
  const { store, watcher, deadLetters, live, auth } = deps;

  // --- OTLP/HTTP receiver (JSON) -----------------------------------------------------------------
  const otlp = (parse: (body: unknown) => Promise<{ accepted: number; rejected: number }>) => async (req: Request) => {
    // Before reading the body: a stranger's spans would show in every operator's views.
    requireTelemetrySender(auth, req);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type === 'application/x-protobuf') {
      throw new HttpError(415, 'this receiver takes OTLP/HTTP JSON (application/json); set the exporter to json encoding', 'UNSUPPORTED_MEDIA_TYPE');
    }
    let body: unknown;
    try {
      body = JSON.parse(await req.text());
    } catch {
      throw new HttpError(400, 'the body is not valid JSON', 'INVALID_JSON');
    }
    try {
      const { rejected } = await parse(body);
      // The OTLP partial-success answer: the sender learns how many items were dropped and why.
      return rejected ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: 'spans without valid trace or span ids' } } : {};
    } catch (error) {
      if (error instanceof OtlpFormatError) throw new HttpError(400, error.message, 'INVALID_OTLP');
      throw error;
    }
  };
  router.on(
    'POST',
    '/v1/traces',
    otlp(async (body) => {
      const { spans, rejected } = parseTraces(body);
      const kept = spans.filter((s) => !watcher.quiet.has(s.trace_id));
      await store.addSpans(kept);
      return { accepted: kept.length, rejected };
    }),
  );
  router.on(
    'POST',
    '/v1/logs',
    otlp(async (body) => {
      const rows = parseLogs(body).filter((r) => !r.trace_id || !watcher.quiet.has(r.trace_id));
      await store.addLogs(rows);
      return { accepted: rows.length, rejected: 0 };
    }),
  );
  router.on(
    'POST',
    '/v1/metrics',
    otlp(async (body) => {
      const rows = parseMetrics(body);
      await store.addMetrics(rows);
      return { accepted: rows.length, rejected: 0 };
    }),
  );

  // --- live updates ------------------------------------------------------------------------------
  router.on('GET', '/api/events', (_req, res) => {
    live.attach(res, { consoleId: deps.consoleId, at: new Date(deps.now()).toISOString() });
  });

  // --- overview, map, health -------------------------------------------------------------------
  router.on('GET', '/api/overview', async () => ({
    consoleId: deps.consoleId,
    hubId: deps.hubId ?? null,
    deployments: watcher.deployments(),
    streams: watcher.streams(),
    natsProblem: watcher.natsProblem,
    stored: await store.counts(),
    ingested: store.ingested,
    now: new Date(deps.now()).toISOString(),
  }));

  router.on('GET', '/api/map', async (req) => {
    const windowMinutes = Math.min(num(req.query.get('minutes')) ?? 15, 24 * 60);
    const flows = await store.flows(deps.now() * 1000, windowMinutes);
    const deployments = watcher.deployments();
    const known = new Set(deployments.map((d) => d.id));
    const stats = new Map(flows.services.map((s) => [s.service, s]));
    const nodes = [
      ...deployments.map((d) => ({ id: d.id, hub: d.hub, health: d.health, spans: stats.get(d.id)?.spans ?? 0, errors: stats.get(d.id)?.errors ?? 0, parked: d.outbox?.parked ?? null })),
      // Something that sends telemetry but is not a configured deployment (a test client, a new service).
      ...flows.services.filter((s) => !known.has(s.service)).map((s) => ({ id: s.service, hub: false, health: 'UNKNOWN', spans: s.spans, errors: s.errors, parked: null })),
    ];
    // A caller or producer that sends no telemetry itself (an agency without the preload, a client).
    const nodeIds = new Set(nodes.map((n) => n.id));
    for (const e of flows.edges) {
      for (const id of [e.source, e.target]) {
        if (nodeIds.has(id)) continue;
        nodeIds.add(id);
        nodes.push({ id, hub: false, health: 'UNKNOWN', spans: 0, errors: 0, parked: null });
      }
    }
    return { windowMinutes, nodes, edges: flows.edges };
  });

  router.on('GET', '/api/health/series', async (req) => {
    const minutes = Math.min(num(req.query.get('minutes')) ?? 30, 24 * 60);
    const since = (deps.now() - minutes * 60_000) * 1000;
    const deployments = await deps.db
      .selectFrom('deployment_sample')
      .select(['deployment_id', 'time_us', 'health', 'latency_ms', 'outbox_backlog', 'parked'])
      .where('time_us', '>', since)
      .orderBy('time_us')
      .limit(50_000)
      .execute();
    const consumers = await deps.db
      .selectFrom('stream_sample')
      .select(['stream', 'consumer', 'time_us', 'pending', 'ack_pending'])
      .where('time_us', '>', since)
      .orderBy('time_us')
      .limit(100_000)
      .execute();
    const backlogMetric = await store.metricSeries('lotse.outbox.backlog', since);
    return {
      minutes,
      deployments: deployments.map((d) => ({ id: d.deployment_id, t: Number(d.time_us) / 1000, health: d.health, latencyMs: d.latency_ms, backlog: d.outbox_backlog, parked: d.parked })),
      consumers: consumers.map((c) => ({ stream: c.stream, consumer: c.consumer, t: Number(c.time_us) / 1000, lag: Number(c.pending) + Number(c.ack_pending) })),
      backlogMetric: backlogMetric.map((m) => ({ service: m.service, t: m.timeUs / 1000, value: m.value })),
    };
  });

  // --- cases (from the hub) --------------------------------------------------------------------
  const hub = () => {
    const client = watcher.hub();
    if (!client) throw new HttpError(503, 'no hub configured (HUB_ID)', 'NO_HUB');
    return client;
  };
  router.on('GET', '/api/cases', async (req) => {
    const statusName = req.query.get('status') ?? '';
    const status = statusName ? common.referralStatusFromJSON(statusName) : 0;
    if (statusName && status === common.ReferralStatus.UNRECOGNIZED) throw new HttpError(400, `unknown status ${statusName}`, 'INVALID_ARGUMENT');
    try {
      const response = await hub().listCases(
        lotsenhaus.ListCasesRequest.fromPartial({ status, agencyId: req.query.get('agency') ?? '', pageSize: Math.min(num(req.query.get('pageSize')) ?? 50, 500), pageToken: req.query.get('after') ?? '' }),
        { metadata: watcher.quiet.metadata() },
      );
      return { cases: response.cases.map(caseSummary), next: response.nextPageToken || null };
    } catch (error) {
      throw fromGrpc(error, 'the hub could not list cases');
    }
  });
  router.on('GET', '/api/cases/:ref', async (req) => {
    let response: lotsenhaus.GetCaseTimelineResponse;
    try {
      response = await hub().getCaseTimeline({ caseRef: req.params.ref!.trim() }, { metadata: watcher.quiet.metadata() });
    } catch (error) {
      throw fromGrpc(error, `case ${req.params.ref}`);
    }
    const traceIds = [...new Set(response.entries.map((e) => e.traceId).filter(Boolean))];
    const traces = new Map((await store.summaries(traceIds)).map((t) => [t.traceId, t]));
    return {
      summary: caseSummary(response.caseSummary!),
      timeline: response.entries.map((e) => ({
        eventId: e.eventId,
        eventType: e.eventType,
        agencyId: e.agencyId,
        occurredAt: e.occurredAt?.toISOString() ?? null,
        recordedAt: e.recordedAt?.toISOString() ?? null,
        summary: e.summary,
        referralId: e.referralId,
        traceId: e.traceId,
        trace: traces.get(e.traceId) ?? null,
      })),
    };
  });

  // --- traces ----------------------------------------------------------------------------------
  router.on('GET', '/api/operations', () => store.serviceOperations());
  router.on('GET', '/api/traces', async (req) => {
    const q = req.query;
    return {
      traces: await store.searchTraces({
        service: q.get('service') || undefined,
        operation: q.get('operation') || undefined,
        minDurationMs: num(q.get('minDurationMs')),
        errorsOnly: q.get('errors') === '1' || q.get('errors') === 'true',
        caseRef: q.get('caseRef')?.trim() || undefined,
        eventType: q.get('eventType') || undefined,
        beforeUs: num(q.get('beforeUs')),
        limit: num(q.get('limit')),
      }),
    };
  });
  router.on('GET', '/api/traces/:id', async (req) => {
    const trace = await store.trace(hex(req.params.id!.toLowerCase(), 32, 'a trace id'));
    if (!trace) throw new HttpError(404, `trace ${req.params.id} is not in the console's store (not yet arrived, or past the retention limit)`, 'NOT_FOUND');
    return trace;
  });

  // --- dead letters ----------------------------------------------------------------------------
  router.on('GET', '/api/dead-letters', async (req) => deadLetters.list(req.query.get('all') === '1'));
  router.on('GET', '/api/dead-letters/:deployment/:id', async (req) => {
    try {
      return await deadLetters.inspect(req.params.deployment!, req.params.id!);
    } catch (error) {
      throw fromDeadLetter(error);
    }
  });
  // The operator logs in once with the token; the page then sends the cookie (HttpOnly, so no
  // script reads it; SameSite=Strict, so no other site's page can make the browser send it).
  router.on('POST', '/api/login', async (req, res) => {
    requireJson(req);
    const body = await req.json();
    if (!isAdminToken(auth, typeof body.token === 'string' ? body.token.trim() : undefined)) {
      throw new HttpError(401, 'that is not the console’s operator token', 'UNAUTHENTICATED');
    }
    res.setHeader('Set-Cookie', `${operatorCookie}=${encodeURIComponent(body.token.trim())}; HttpOnly; SameSite=Strict; Path=/api`);
    return { loggedIn: true };
  });
  router.on('POST', '/api/dead-letters/:deployment/:id/replay', async (req) => {
    requireOperator(auth, req);
    requireJson(req);
    const body = await req.json();
    try {
      const message = await deadLetters.replay(req.params.deployment!, req.params.id!, String(body.operator ?? ''));
      live.broadcast('dead-letters', { changed: `${req.params.deployment}/${req.params.id}` });
      return { message };
    } catch (error) {
      live.broadcast('dead-letters', { changed: `${req.params.deployment}/${req.params.id}` });
      throw fromDeadLetter(error);
    }
  });
  router.on('POST', '/api/dead-letters/:deployment/:id/discard', async (req) => {
    requireOperator(auth, req);
    requireJson(req);
    const body = await req.json();
    try {
      const message = await deadLetters.discard(req.params.deployment!, req.params.id!, String(body.operator ?? ''), String(body.reason ?? ''));
      live.broadcast('dead-letters', { changed: `${req.params.deployment}/${req.params.id}` });
      return { message };
    } catch (error) {
      throw fromDeadLetter(error);
    }
  });
  router.on('GET', '/api/actions', async () => ({ actions: await deadLetters.recentActions() }));

  // --- erasure confirmations -------------------------------------------------------------------
  // The hub tracks one erasure per recipient after a consent withdrawal. A hub without that
  // feature answers UNIMPLEMENTED; then the console shows what the traces say.
  router.on('GET', '/api/erasures', async (req) => {
    const client = watcher.hub();
    if (client) {
      try {
        const { erasures } = await client.listErasures(
          { status: 0, caseRef: req.query.get('caseRef') ?? '', pageSize: 500, pageToken: '' },
          { metadata: watcher.quiet.metadata() },
        );
        return { source: 'hub', erasures: erasures.map((e) => lotsenhaus.Erasure.toJSON(e)) };
      } catch (error) {
        if ((error as ServiceError).code !== 12) throw fromGrpc(error, 'the hub could not list erasures');
      }
    }
    return { source: 'traces', eventTypes: erasureEventTypes, spans: await store.eventSpans(erasureEventTypes) };
  });

  // --- the coordination circle's statistics ------------------------------------------------------
  // Anonymous tables from the hub (StatisticsService); suppressed cells come marked, never filled in.
  router.on('GET', '/api/statistics', async (req) => {
    const client = watcher.statistics();
    if (!client) throw new HttpError(503, 'no hub in this network', 'UNAVAILABLE');
    const date = (name: string, fallback: Date) => {
      const raw = req.query.get(name);
      if (!raw) return fallback;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(`${raw}T00:00:00Z`))) throw new HttpError(400, `${name}: must be a date as YYYY-MM-DD`, 'INVALID_ARGUMENT');
      return new Date(`${raw}T00:00:00Z`);
    };
    const to = date('to', new Date(Date.now() + 86_400_000));
    const from = date('from', new Date(to.getTime() - 365 * 86_400_000));
    try {
      const response = await client.getStatistics({ from, to, dimensions: [], minCount: num(req.query.get('min')) ?? 0 }, { metadata: watcher.quiet.metadata() });
      return statistics.GetStatisticsResponse.toJSON(response);
    } catch (error) {
      throw fromGrpc(error, 'the hub could not compute the statistics');
    }
  });
}
