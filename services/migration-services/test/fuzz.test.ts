// Integration tier, property-based: random and extreme requests at every RPC a migration service serves
// (found by server reflection) against the real server on PostgreSQL and NATS; see
// libs/testing/src/rpc-fuzz.ts. The owner of the newcomers' data is an address nothing listens
// on: a call that needs it is UNAVAILABLE, which is an answer, not a failure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import type { TestDatabase } from '@lotse/db';
import { connectNats, streamName } from '@lotse/messaging';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import type { RunningAgency } from '@lotse/runtime';
import { createTestDatabase, dropWhenIdle, fuzzServer, natsUrl, randomId } from '@lotse/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { create, type MigrationServicesDb } from '../src/index.js';

const SEED = 20261204;
const RUNS_PER_RPC = 100;

const hubId = randomId('hub');
const foId = randomId('fo');
const selfId = randomId('mbe');
let dir: string;
let pkiDir: string;
let database: TestDatabase;
let service: ReturnType<typeof create>;
let running: RunningAgency<MigrationServicesDb>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-migration-services-fuzz-'));
  pkiDir = join(dir, 'pki');
  await ensureDevPki(pkiDir, [
    { id: selfId, agencyType: 'migration-services' },
    { id: foId, agencyType: 'foreign-office' },
    { id: hubId, agencyType: 'lotsenhaus' },
  ]);
  database = await createTestDatabase('lotse_migration_services_fuzz');
  service = create({
    agencyId: selfId,
    agencyType: 'migration-services',
    grpc: { host: '127.0.0.1', port: 0 },
    database: { url: database.url, dataDir: 'unused' },
    natsUrl,
    pkiDir,
    logLevel: 'silent',
    hubAgencyId: hubId,
    peers: new Map([[foId, '127.0.0.1:1']]),
  });
  running = await service.start();
});

afterAll(async () => {
  await service?.stop();
  const nats = await connectNats({ servers: natsUrl, name: 'migration-services-fuzz-cleanup' });
  for (const id of [hubId, foId, selfId]) await nats.jsm.streams.delete(streamName(id)).catch(() => undefined);
  await nats.close();
  if (database) await dropWhenIdle(database);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('no request makes a migration service answer INTERNAL, stop serving, or write for a refused call', { timeout: 120_000 }, async () => {
  const report = await fuzzServer({
    address: `127.0.0.1:${running.grpcPort}`,
    identities: [selfId, foId, hubId].map((id) => loadIdentity(pkiDir, id)),
    databaseUrl: database.url,
    samples: [selfId, foId, hubId, 'koblenz', 'andernach', 'fz-1', '2026-12-03', 'migration-services', 'job-centre'],
    seed: SEED,
    numRuns: RUNS_PER_RPC,
    mayGrowOnRefusal: (table, code) => table === 'audit_log' && code === status.PERMISSION_DENIED,
  });
  console.log(`fuzz migration-services: seed ${report.seed}, ${report.numRuns} runs per RPC, ${report.total} calls\n${JSON.stringify(report.calls)}\nslow: ${JSON.stringify(report.slow)}\nnot served: ${JSON.stringify(report.notServed)}`);
  expect(report.total).toBe(Object.keys(report.calls).length * RUNS_PER_RPC);
});
