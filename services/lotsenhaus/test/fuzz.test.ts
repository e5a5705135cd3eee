// Integration tier, property-based: random and extreme requests (random bytes, extreme numbers,
// invalid UTF-8, huge strings and lists, truncated and corrupted messages) at every RPC the hub
// serves — the case index, the one-stop desk, data protection, the operator API, found by server
// reflection — against the real server on PostgreSQL and NATS. Whatever arrives: never INTERNAL,
// still SERVING, and a refused call writes nothing. Fixed seed and bounded runs.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { lotsenhaus, oneStop } from '@lotse/contracts';
import type { TestDatabase } from '@lotse/db';
import { connectNats, streamName } from '@lotse/messaging';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import type { RunningAgency } from '@lotse/runtime';
import { createTestDatabase, dropWhenIdle, fuzzServer, natsUrl, randomId } from '@lotse/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { create, type HubDb } from '../src/index.js';

const SEED = 20261203;
const RUNS_PER_RPC = 100;

const hubId = randomId('lh');
const referrerId = randomId('fo');
const providerId = randomId('mbe');
let dir: string;
let pkiDir: string;
let database: TestDatabase;
let hub: ReturnType<typeof create>;
let running: RunningAgency<HubDb>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-hub-fuzz-'));
  pkiDir = join(dir, 'pki');
  await ensureDevPki(pkiDir, [
    { id: hubId, agencyType: 'lotsenhaus' },
    { id: referrerId, agencyType: 'foreign-office' },
    { id: providerId, agencyType: 'migration-services' },
  ]);
  const directoryFile = join(dir, 'directory.json');
  writeFileSync(
    directoryFile,
    JSON.stringify({
      region: 'Test region',
      municipalities: [{ code: 'koblenz', name: 'Stadt Koblenz' }],
      referrers: [{ agencyId: referrerId, name: 'Test-Ausländerbehörde', agencyType: 'foreign-office' }],
      providers: [{ providerId, name: 'Test MBE', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult'], municipalities: ['koblenz'] }] }],
    }),
  );
  database = await createTestDatabase('lotse_hub_fuzz');
  hub = create({
    agencyId: hubId,
    agencyType: 'lotsenhaus',
    grpc: { host: '127.0.0.1', port: 0 },
    database: { url: database.url, dataDir: 'unused' },
    natsUrl,
    pkiDir,
    logLevel: 'silent',
    directoryFile,
  });
  running = await hub.start();
});

afterAll(async () => {
  await hub?.stop();
  const nats = await connectNats({ servers: natsUrl, name: 'hub-fuzz-cleanup' });
  for (const id of [hubId, referrerId, providerId]) await nats.jsm.streams.delete(streamName(id)).catch(() => undefined);
  await nats.close();
  if (database) await dropWhenIdle(database);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

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
    identities: [hubId, referrerId, providerId].map((id) => loadIdentity(pkiDir, id)),
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
