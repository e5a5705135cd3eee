// Security, end to end: the authorisation matrix (policy/access.yaml) as the running network
// enforces it. Every RPC of every deployment kind is called with the certificate of every agency
// type and with the deployment's own; where the matrix says no, the answer is PERMISSION_DENIED
// from the edge and no database of the network changes; where it says yes, the edge lets the
// call through (the handler then answers as it does — usually INVALID_ARGUMENT for the empty
// request). The relation variants (not party, party, party after closure) are in
// need-to-know.security.e2e.test.ts.
import { join } from 'node:path';
import { credentials, makeClientConstructor, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { dataProtection, directory, foreignOffice, jobCentre, lotsenhaus, migrationServices, oneStop, operator, receipts, statistics } from '@lotse/contracts';
import { loadAccessMatrix } from '@lotse/flows';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetworkOnPostgres, type NetworkOnPostgres } from '../src/network-process.js';

const matrix = loadAccessMatrix();
const services = [
  foreignOffice.ForeignOfficeServiceService,
  lotsenhaus.LotsenhausServiceService,
  oneStop.OneStopServiceService,
  directory.DirectoryServiceService,
  statistics.StatisticsServiceService,
  migrationServices.MigrationServicesServiceService,
  jobCentre.JobCentreServiceService,
  dataProtection.DataProtectionServiceService,
  dataProtection.TransparencyReportServiceService,
  operator.OperatorServiceService,
  receipts.ReceiptServiceService,
] as const;

/** One deployment of each kind, and a certificate for every agency type of the matrix. */
const targets = ['kv-mayen-koblenz', 'lotsenhaus', 'caritas-koblenz', 'jobcenter-koblenz'];
const callersByType: Record<string, string> = {
  'foreign-office': 'kv-mayen-koblenz',
  lotsenhaus: 'lotsenhaus',
  'migration-services': 'caritas-rhein-mosel-ahr',
  'job-centre': 'jobcenter-mayen-koblenz',
  operator: 'console',
  auditor: 'matrix-auditor',
};
const typeOf: Record<string, string> = { 'kv-mayen-koblenz': 'foreign-office', lotsenhaus: 'lotsenhaus', 'caritas-koblenz': 'migration-services', 'jobcenter-koblenz': 'job-centre' };
/** Tables that record what a deployment did; a refused call must leave them as they were. */
const written = ['outbox', 'idempotency', 'audit_log'];

let setup: NetworkOnPostgres;
const clients = new Map<string, Client & Record<string, any>>();

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
  // The network's CA issues an auditor's certificate too, as the operator of the network would.
  await ensureDevPki(join(setup.home, 'pki'), [{ id: 'matrix-auditor', agencyType: 'auditor' }]);
}, 300_000);

afterAll(async () => {
  for (const c of clients.values()) c.close();
  await setup?.remove();
}, 60_000);

/** A raw client of one service at one deployment, presenting `asAgency`'s certificate: bytes in, bytes out. */
function rawClient(service: (typeof services)[number], target: string, asAgency: string) {
  const name = Object.values(service)[0]!.path.split('/')[1]!;
  const key = `${name}|${target}|${asAgency}`;
  let client = clients.get(key);
  if (!client) {
    const definition = Object.fromEntries(
      Object.entries(service).map(([k, m]) => [k, { ...m, requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b }]),
    );
    const Ctor = makeClientConstructor(definition as any, name);
    const identity = loadIdentity(join(setup.home, 'pki'), asAgency);
    client = new Ctor(setup.network.deployment(target).grpc, credentials.createSsl(identity.ca, identity.key, identity.cert), {
      'grpc.ssl_target_name_override': target,
      'grpc.default_authority': target,
    }) as Client & Record<string, any>;
    clients.set(key, client);
  }
  return client;
}

/** Calls one method with an empty request; resolves with the status and its message. */
function call(client: Client & Record<string, any>, key: string, streaming: boolean): Promise<{ code: number; details: string }> {
  const deadline = new Date(Date.now() + 10_000);
  return new Promise((resolve) => {
    if (!streaming) {
      client[key](Buffer.alloc(0), new Metadata(), { deadline }, (error: ServiceError | null) => resolve(error ? { code: error.code, details: error.details } : { code: status.OK, details: '' }));
      return;
    }
    // A stream the edge lets through stays open: that is the answer; then it is cancelled.
    const stream = client[key](Buffer.alloc(0), new Metadata(), { deadline });
    const timer = setTimeout(() => stream.cancel(), 1000);
    stream.on('data', () => undefined);
    stream.on('error', (e: ServiceError) => {
      clearTimeout(timer);
      resolve({ code: e.code, details: e.details });
    });
    stream.on('end', () => {
      clearTimeout(timer);
      resolve({ code: status.OK, details: '' });
    });
  });
}

async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const target of targets) {
    const db = new pg.Client({ connectionString: setup.databaseUrl(target) });
    await db.connect();
    try {
      for (const table of written) counts[`${target}.${table}`] = (await db.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;
    } finally {
      await db.end();
    }
  }
  return counts;
}

interface Case {
  target: string;
  method: string;
  key: string;
  streaming: boolean;
  service: (typeof services)[number];
  caller: string;
  allowed: boolean;
}

function mayCall(method: string, target: string, caller: string): boolean {
  const rule = matrix.rules.get(method);
  if (!rule) throw new Error(`${method} has no row in policy/access.yaml`);
  const callerType = caller === target ? typeOf[target]! : Object.entries(callersByType).find(([, id]) => id === caller)![0];
  return rule.callers.includes('any') || (caller === target && rule.callers.includes('self')) || rule.callers.includes(callerType);
}

describe('the authorisation matrix on the running network', () => {
  it('refuses at the edge every call the matrix does not allow, writes nothing, and lets every allowed call through', async () => {
    // Which services each deployment serves (an unserved one answers UNIMPLEMENTED to anyone).
    const cases: Case[] = [];
    for (const target of targets) {
      for (const service of services) {
        for (const [key, m] of Object.entries(service)) {
          const method = m.path.slice(1);
          const probe = await call(rawClient(service, target, target), key, m.responseStream);
          if (probe.code === status.UNIMPLEMENTED) continue;
          for (const caller of [target, ...Object.values(callersByType).filter((id) => id !== target)]) {
            cases.push({ target, method, key, streaming: m.responseStream, service, caller, allowed: mayCall(method, target, caller) });
          }
        }
      }
    }
    // Every RPC of the matrix is served somewhere and so called here.
    const called = new Set(cases.map((c) => c.method));
    expect([...matrix.rules.keys()].filter((m) => !called.has(m))).toEqual([]);

    const before = await rowCounts();
    const wrong: string[] = [];
    for (const c of cases.filter((x) => !x.allowed)) {
      const answer = await call(rawClient(c.service, c.target, c.caller), c.key, c.streaming);
      if (answer.code !== status.PERMISSION_DENIED || !answer.details.includes('authorisation matrix')) wrong.push(`${c.caller} → ${c.target} ${c.method}: ${status[answer.code]} ${answer.details}`);
    }
    expect(wrong).toEqual([]);
    expect(await rowCounts()).toEqual(before);

    for (const c of cases.filter((x) => x.allowed)) {
      const answer = await call(rawClient(c.service, c.target, c.caller), c.key, c.streaming);
      if (answer.details.includes('authorisation matrix') || answer.code === status.INTERNAL || answer.code === status.UNAUTHENTICATED) {
        wrong.push(`${c.caller} → ${c.target} ${c.method}: ${status[answer.code]} ${answer.details}`);
      }
    }
    expect(wrong).toEqual([]);
    const refused = cases.filter((c) => !c.allowed).length;
    process.stdout.write(`[access matrix] ${cases.length} calls: ${refused} refused at the edge, ${cases.length - refused} let through\n`);
    expect(refused).toBeGreaterThan(200);
  }, 240_000);
});
