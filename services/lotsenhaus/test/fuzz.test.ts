// Integration tier, property-based: random and extreme requests (random bytes, extreme numbers,
// invalid UTF-8, huge strings and lists, truncated and corrupted messages) at every RPC the hub
// serves — the case index, the one-stop desk, data protection, the operator API, found by server
// reflection — against the real server on PostgreSQL and NATS. Whatever arrives: never INTERNAL,
// still SERVING, and a refused call writes nothing. Fixed seed and bounded runs.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { lotsenhaus, oneStop } from '@lotse/contracts';
import type { TestDatabase } from '@lotse/db';
import type { RunningAgency } from '@lotse/runtime';
import { fuzzServer, randomId, startTestNetwork, type TestNetwork } from '@lotse/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { create, type HubDb } from '../src/index.js';

const SEED = 20261203;
const RUNS_PER_RPC = 100;

const hubId = randomId('lh');
const referrerId = randomId('fo');
const providerId = randomId('mbe');
let net: TestNetwork;
let database: TestDatabase;
let running: RunningAgency<HubDb>;

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'hub-fuzz',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: referrerId, agencyType: 'foreign-office' },
      { id: providerId, agencyType: 'migration-services' },
    ],
  });
  const directoryFile = net.file('directory.json', {
    region: 'Test region',
    municipalities: [{ code: 'koblenz', name: 'Stadt Koblenz' }],
    referrers: [{ agencyId: referrerId, name: 'Test-Ausländerbehörde', agencyType: 'foreign-office' }],
    providers: [{ providerId, name: 'Test MBE', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult'], municipalities: ['koblenz'] }] }],
  });
  const hub = await net.agency({ id: hubId, database: 'lotse_hub_fuzz', create: (config) => create({ ...config, directoryFile }) });
  ({ database, running } = hub);
});

afterAll(() => net?.close());

it('no request makes the hub answer INTERNAL, stop serving, or write for a refused call', { timeout: 120_000 }, async () => {
  const caseRef = `C-${randomBytes(6).toString('hex').toUpperCase()}`;
  const L = lotsenhaus.LotsenhausServiceService;
  const O = oneStop.OneStopServiceService;
  const intake = oneStop.RecordIntakeRequest.fromPartial({
    requestId: 'fz-intake',
    caseRef,
    needs: [oneStop.OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT],
    noteCodes: ['INTERPRETER_AR'],
  });
  const report = await fuzzServer({
    address: `127.0.0.1:${running.grpcPort}`,
    identities: [hubId, referrerId, providerId].map((id) => net.identity(id)),
    databaseUrl: database.url,
    samples: [caseRef, hubId, referrerId, providerId, 'koblenz', 'migration-services', 'INTERPRETER_AR', 'fz-1', '2026-12-03'],
    examples: {
      [O.recordIntake.path]: [O.recordIntake.requestSerialize(intake)],
      [O.listAppointments.path]: [O.listAppointments.requestSerialize(oneStop.ListAppointmentsRequest.fromPartial({ caseRef }))],
      [L.listCases.path]: [L.listCases.requestSerialize(lotsenhaus.ListCasesRequest.fromPartial({}))],
      [L.getCaseTimeline.path]: [L.getCaseTimeline.requestSerialize(lotsenhaus.GetCaseTimelineRequest.fromPartial({ caseRef }))],
      [L.watchTimeline.path]: [L.watchTimeline.requestSerialize(lotsenhaus.WatchTimelineRequest.fromPartial({ caseRef }))],
    },
    seed: SEED,
    numRuns: RUNS_PER_RPC,
    mayGrowOnRefusal: (table, code) => table === 'audit_log' && code === status.PERMISSION_DENIED,
  });
  console.log(`fuzz hub: seed ${report.seed}, ${report.numRuns} runs per RPC, ${report.total} calls\n${JSON.stringify(report.calls)}\nslow: ${JSON.stringify(report.slow)}\nnot served: ${JSON.stringify(report.notServed)}`);
  expect(Object.keys(report.calls)).toEqual(expect.arrayContaining([L.listCases.path, L.watchTimeline.path, O.referOn.path]));
  expect(report.total).toBe(Object.keys(report.calls).length * RUNS_PER_RPC);
});
