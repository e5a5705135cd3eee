// Integration tier, property-based: random and extreme requests at every RPC a job centre serves
// (found by server reflection) against the real server on PostgreSQL and NATS; see
// libs/testing/src/rpc-fuzz.ts. The owner of the newcomers' data is an address nothing listens
// on: a call that needs it is UNAVAILABLE, which is an answer, not a failure.
import { status } from '@grpc/grpc-js';
import type { TestDatabase } from '@lotse/db';
import type { RunningAgency } from '@lotse/runtime';
import { fuzzServer, randomId, startTestNetwork, type TestNetwork } from '@lotse/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { create, type JobCentreDb } from '../src/index.js';

const SEED = 20261205;
const RUNS_PER_RPC = 100;

const hubId = randomId('hub');
const foId = randomId('fo');
const selfId = randomId('jobcenter');
let net: TestNetwork;
let database: TestDatabase;
let running: RunningAgency<JobCentreDb>;

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'job-centre-fuzz',
    members: [
      { id: selfId, agencyType: 'job-centre' },
      { id: foId, agencyType: 'foreign-office' },
      { id: hubId, agencyType: 'lotsenhaus' },
    ],
  });
  const jobCentre = await net.agency({
    id: selfId,
    database: 'lotse_job_centre_fuzz',
    create: (config) => create({ ...config, hubAgencyId: hubId, peers: new Map([[foId, '127.0.0.1:1']]), dataOwnerId: foId }),
  });
  ({ database, running } = jobCentre);
});

afterAll(() => net?.close());

it('no request makes a job centre answer INTERNAL, stop serving, or write for a refused call', { timeout: 120_000 }, async () => {
  const report = await fuzzServer({
    address: `127.0.0.1:${running.grpcPort}`,
    identities: [selfId, foId, hubId].map((id) => net.identity(id)),
    databaseUrl: database.url,
    samples: [selfId, foId, hubId, 'koblenz', 'andernach', 'fz-1', '2026-12-03', 'migration-services', 'job-centre'],
    seed: SEED,
    numRuns: RUNS_PER_RPC,
    mayGrowOnRefusal: (table, code) => table === 'audit_log' && code === status.PERMISSION_DENIED,
  });
  console.log(`fuzz job-centre: seed ${report.seed}, ${report.numRuns} runs per RPC, ${report.total} calls\n${JSON.stringify(report.calls)}\nslow: ${JSON.stringify(report.slow)}\nnot served: ${JSON.stringify(report.notServed)}`);
  expect(report.total).toBe(Object.keys(report.calls).length * RUNS_PER_RPC);
});
