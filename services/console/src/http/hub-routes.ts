// What the console asks the hub for: the cases and their timelines (with the traces the console
// holds of each step), the erasures after a consent withdrawal, and the coordination circle's statistics.
import type { ServiceError } from '@grpc/grpc-js';
import { common, lotsenhaus, statistics } from '@lotse/contracts';
import { grpcStatusName } from '../watch/network-watcher.js';
import type { ApiDeps } from './api.js';
import { HttpError, type Router } from './http-server.js';
import { num } from './query-params.js';

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

export function registerHubRoutes(router: Router, { store, watcher }: ApiDeps): void {
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
