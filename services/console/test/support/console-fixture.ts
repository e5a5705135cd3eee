// The console against the real PostgreSQL: OTLP/HTTP JSON in, the views' JSON API out; the hub
// and a deployment's OperatorService are stand-ins served with the same gRPC server and mTLS.
// One start per test file: each has a database and a stand-in of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common, envelope, events, lotsenhaus, operator } from '@lotse/contracts';
import { GrpcServer, NotFoundError, type CallContext } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import type { TestDatabase } from '@lotse/db';
import { createTestDatabase, dropWhenIdle, natsUrl } from '@lotse/testing';
import { create, toConfig } from '../../src/index.js';

const logger = createLogger('console-test', { level: 'silent' });
export const adminToken = 'test-operator-token-0123456789';
export const otlpToken = 'test-otlp-token-hub-0123456789';

export const traceId = 'a1'.repeat(16);
const t0 = Date.now() * 1_000_000; // ns
export const ns = (ms: number) => String(BigInt(t0) + BigInt(Math.round(ms * 1_000_000)));
export const kv = (key: string, value: string | number) => ({ key, value: typeof value === 'number' ? { intValue: value } : { stringValue: value } });

function parked(id: string, state: Partial<operator.ParkedMessage> = {}): operator.ParkedMessage {
  const payload = events.ReferralAccepted.encode(events.ReferralAccepted.fromPartial({ referralId: 'r-1', caseRef: 'C-TEST1', providerId: 'caritas-koblenz' })).finish();
  const data = envelope.Envelope.encode({ eventId: 'e-1', eventType: 'ReferralAccepted', occurredAt: new Date(), producerAgencyId: 'caritas-koblenz', caseRef: 'C-TEST1', schemaVersion: 1, payload: Buffer.from(payload) }).finish();
  return operator.ParkedMessage.fromPartial({ parkedId: id, consumer: 'hub', stream: 'LOTSE_CARITAS_KOBLENZ', subject: 'lotse.caritas-koblenz.referral-accepted', eventId: 'e-1', eventType: 'ReferralAccepted', caseRef: 'C-TEST1', data: Buffer.from(data), error: 'unknown referral r-1', deliveries: 5, parkedAt: new Date(), ...state });
}

export type ConsoleUnderTest = Awaited<ReturnType<typeof startConsoleFixture>>;

export async function startConsoleFixture() {
  let dir: string | undefined;
  let database: TestDatabase | undefined;
  let service: ReturnType<typeof create> | undefined;
  let fake: GrpcServer | undefined;
  const replayCalls: { operatorName: string; caller: string }[] = [];
  const stop = async () => {
    await service?.stop();
    await fake?.stop(100);
    if (database) await dropWhenIdle(database);
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
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
    const running = await service.start();
    const base = running.url;

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
    return { running, base, replayCalls, post, get, stop };
  } catch (error) {
    // A set-up that failed halfway leaves nothing behind.
    await stop().catch(() => undefined);
    throw error;
  }
}


/** Three spans of one trace: the foreign office's call and publish, the hub's failed consume. */
export const traces = {
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
