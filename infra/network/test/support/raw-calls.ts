// Calls to any RPC of the network with raw bytes, from any deployment's certificate: what the
// security tests use to reach every row of the authorisation matrix with an empty request.
import { join } from 'node:path';
import { credentials, makeClientConstructor, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { dataProtection, directory, foreignOffice, jobCentre, lotsenhaus, migrationServices, oneStop, operator, receipts, statistics } from '@lotse/contracts';
import { loadIdentity } from '@lotse/pki';
import pg from 'pg';
import type { NetworkOnPostgres } from '../../src/network-process.js';

export const services = [
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
export type AnyService = (typeof services)[number];
export type RawClient = Client & Record<string, any>;

/** One deployment of each kind of the demo network, with its agency type. */
export const typeOf: Record<string, string> = { 'kv-mayen-koblenz': 'foreign-office', lotsenhaus: 'lotsenhaus', 'caritas-koblenz': 'migration-services', 'jobcenter-koblenz': 'job-centre' };
export const targets = Object.keys(typeOf);

/** Tables that record what a deployment did; a refused call must leave them as they were. */
const written = ['outbox', 'idempotency', 'audit_log'];

/** Raw clients of one network, cached per service, target and certificate; close() ends them all. */
export function rawClients(setup: () => NetworkOnPostgres) {
  const clients = new Map<string, RawClient>();
  return {
    /** A client of one service at one deployment, presenting `asAgency`'s certificate: bytes in, bytes out. */
    of(service: AnyService, target: string, asAgency: string): RawClient {
      const name = Object.values(service)[0]!.path.split('/')[1]!;
      const key = `${name}|${target}|${asAgency}`;
      let client = clients.get(key);
      if (!client) {
        const definition = Object.fromEntries(Object.entries(service).map(([k, m]) => [k, { ...m, requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b }]));
        const Ctor = makeClientConstructor(definition as any, name);
        const identity = loadIdentity(join(setup().home, 'pki'), asAgency);
        client = new Ctor(setup().network.deployment(target).grpc, credentials.createSsl(identity.ca, identity.key, identity.cert), {
          'grpc.ssl_target_name_override': target,
          'grpc.default_authority': target,
        }) as RawClient;
        clients.set(key, client);
      }
      return client;
    },
    close() {
      for (const c of clients.values()) c.close();
    },
  };
}

/** Calls one method with an empty request; resolves with the status and its message. */
export function callEmpty(client: RawClient, key: string, streaming: boolean, metadata = new Metadata()): Promise<{ code: number; details: string }> {
  const deadline = new Date(Date.now() + 10_000);
  return new Promise((resolve) => {
    if (!streaming) {
      client[key](Buffer.alloc(0), metadata, { deadline }, (error: ServiceError | null) => resolve(error ? { code: error.code, details: error.details } : { code: status.OK, details: '' }));
      return;
    }
    // A stream the edge lets through stays open: that is the answer; then it is cancelled.
    const stream = client[key](Buffer.alloc(0), metadata, { deadline });
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

/** How many rows each target's record tables hold. */
export async function rowCounts(setup: NetworkOnPostgres): Promise<Record<string, number>> {
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
