// What the console shows from its own store and watcher: the overview, the map of flows between
// deployments, health over time, and the traces.
import type { ApiDeps } from './api.js';
import { HttpError, type Router } from './http-server.js';
import { hex, num } from './query-params.js';

export function registerTelemetryRoutes(router: Router, deps: ApiDeps): void {
  const { store, watcher } = deps;

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
}
