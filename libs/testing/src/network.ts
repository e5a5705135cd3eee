// The set-up every integration test of an agency needs, once: a development CA with a certificate
// per member, a database of its own per deployment on the shared PostgreSQL, a NATS connection and
// the agencies' streams, and deployments started in-process on free ports. Everything it makes is
// registered as it is made and undone by close() in reverse order, step by step, even when a test
// (or the set-up itself, halfway) failed; close() reports what it could not undo only after it
// has tried everything.
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { createTestDatabase, openDatabase, type Database, type Kysely, type TestDatabase } from '@lotse/db';
import { createClient, type ClientOptions, type PromiseClient } from '@lotse/grpc';
import { connectNats, streamName, type NatsClients } from '@lotse/messaging';
import { ensureDevPki, loadIdentity, type TlsIdentity } from '@lotse/pki';

/** The shared broker of the integration tests (JetStream, anonymous). */
export const natsUrl = 'nats://127.0.0.1:4222';

export interface NetworkMember {
  id: string;
  agencyType: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** What every deployment's config starts with (the shape of @lotse/runtime's AgencyConfig). */
export interface TestAgencyConfig {
  agencyId: string;
  agencyType: string;
  grpc: { host: string; port: number };
  database: { url: string; dataDir: string };
  natsUrl: string;
  pkiDir: string;
  logLevel: LogLevel;
}

/** A service as its composition root returns it: `create(config)`. */
export interface StartableService<DB> {
  start(): Promise<{ ctx: { db: Kysely<DB> }; grpcPort: number }>;
  stop(): Promise<void>;
}

export interface TestAgency<S extends StartableService<any>> {
  id: string;
  service: S;
  running: Awaited<ReturnType<S['start']>>;
  database: TestDatabase;
  /** `127.0.0.1:<port>` of its gRPC server. */
  address: string;
  /** A client of its gRPC server as the member `asId` (itself by default); closed with the network. */
  client<C extends Client>(Ctor: ClientConstructor<C>, asId?: string, options?: ClientOptions): PromiseClient<C>;
}

type ClientConstructor<C extends Client> = Parameters<typeof createClient<C>>[0];

export interface TestNetworkOptions {
  /** Prefix of the temporary folder and name of the NATS connection. */
  name: string;
  /** The deployments that get a certificate from the network's CA. */
  members: NetworkMember[];
  /** More agencies (without a certificate, e.g. a hub the test plays) whose streams go at close. */
  streams?: string[];
  /** Log level of the deployments started with agency(); LOG_LEVEL, else silent. */
  logLevel?: LogLevel;
}

export interface TestNetwork {
  /** A temporary folder of the test's own (files such as a directory.json go here). */
  dir: string;
  pkiDir: string;
  natsUrl: string;
  /** The test's own connection to the broker. */
  nats: NatsClients;
  identity(id: string): TlsIdentity;
  /** A fresh database on the shared server, dropped at close. */
  database(prefix: string): Promise<TestDatabase>;
  /** A pool of the test's own on a database (e.g. one an agency uses), closed at close. */
  pool<DB>(database: TestDatabase, poolSize?: number): Promise<Database<DB>>;
  /** The config a member deployment starts from: its own database, a free port, this network's broker and PKI. */
  agencyConfig(id: string, database: TestDatabase): TestAgencyConfig;
  /**
   * Starts a member deployment on a database of its own (`database` is its prefix) and a free
   * port; it is stopped, and its database dropped, at close.
   */
  agency<S extends StartableService<any>>(options: { id: string; database: string; create(config: TestAgencyConfig): S }): Promise<TestAgency<S>>;
  /** Starts a service the test configured itself; stopped at close. */
  start<S extends StartableService<any>>(service: S): Promise<Awaited<ReturnType<S['start']>>>;
  /** A gRPC client as the member `asId`; closed at close. */
  client<C extends Client>(Ctor: ClientConstructor<C>, address: string, asId: string, options?: ClientOptions): PromiseClient<C>;
  /** Streams of these agencies go at close as well. */
  deleteStreamsAtClose(...agencyIds: string[]): void;
  /** Writes a file into dir (an object as JSON); returns its path. */
  file(name: string, contents: string | object): string;
  /** Something else to undo at close (runs before what was registered earlier). */
  onClose(undo: () => Promise<unknown> | unknown): void;
  /** Undoes everything in reverse order; safe to call twice and after a failed set-up. */
  close(): Promise<void>;
}

export async function startTestNetwork(options: TestNetworkOptions): Promise<TestNetwork> {
  const undo: { what: string; run: () => Promise<unknown> | unknown }[] = [];
  const streams = new Set<string>([...options.members.map((m) => m.id), ...(options.streams ?? [])]);
  const logLevel = options.logLevel ?? ((process.env.LOG_LEVEL as LogLevel | undefined) ?? 'silent');
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    const failures: unknown[] = [];
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch (error) {
        failures.push(new Error(`test network ${options.name}: could not ${step.what}`, { cause: error }));
      }
    }
    if (failures.length) throw new AggregateError(failures, `test network ${options.name}: ${failures.length} clean-up step(s) failed`);
  };

  try {
    const dir = await mkdtemp(join(tmpdir(), `lotse-${options.name}-`));
    undo.push({ what: `remove ${dir}`, run: () => rm(dir, { recursive: true, force: true }) });
    const pkiDir = join(dir, 'pki');
    await ensureDevPki(pkiDir, options.members);
    const nats = await connectNats({ servers: natsUrl, name: `${options.name}-test` });
    // Registered before any deployment, so it runs after they stopped: a running relay would
    // make its stream again.
    undo.push({
      what: 'delete the streams and close the NATS connection',
      run: async () => {
        for (const id of streams) await nats.jsm.streams.delete(streamName(id)).catch(() => undefined);
        await nats.close();
      },
    });
    const identity = (id: string) => loadIdentity(pkiDir, id);
    const agencyTypeOf = (id: string) => {
      const member = options.members.find((m) => m.id === id);
      if (!member) throw new Error(`test network ${options.name}: ${id} is no member (no certificate)`);
      return member.agencyType;
    };
    const client = <C extends Client>(Ctor: ClientConstructor<C>, address: string, asId: string, clientOptions?: ClientOptions) => {
      const c = createClient(Ctor, address, identity(asId), clientOptions);
      undo.push({ what: `close a client as ${asId}`, run: () => c.close() });
      return c;
    };
    const database = async (prefix: string) => {
      const created = await createTestDatabase(prefix);
      undo.push({ what: `drop database ${created.name}`, run: () => created.drop() });
      return created;
    };
    const start = async <S extends StartableService<any>>(service: S): Promise<Awaited<ReturnType<S['start']>>> => {
      // Registered before start(): a start that fails halfway has still opened pools and servers.
      undo.push({ what: 'stop a deployment', run: () => service.stop() });
      return (await service.start()) as Awaited<ReturnType<S['start']>>;
    };
    const agencyConfig = (id: string, db: TestDatabase): TestAgencyConfig => ({
      agencyId: id,
      agencyType: agencyTypeOf(id),
      grpc: { host: '127.0.0.1', port: 0 },
      database: { url: db.url, dataDir: 'unused' },
      natsUrl,
      pkiDir,
      logLevel,
    });
    const network: TestNetwork = {
      dir,
      pkiDir,
      natsUrl,
      nats,
      identity,
      database,
      async pool<DB>(db: TestDatabase, poolSize = 2) {
        const opened = await openDatabase<DB>({ url: db.url, dataDir: 'unused', poolSize });
        undo.push({ what: `close a pool on ${db.name}`, run: () => opened.close() });
        return opened;
      },
      agencyConfig,
      async agency(agencyOptions) {
        const db = await database(agencyOptions.database);
        const service = agencyOptions.create(agencyConfig(agencyOptions.id, db));
        const running = await start(service);
        const address = `127.0.0.1:${running.grpcPort}`;
        return {
          id: agencyOptions.id,
          service,
          running,
          database: db,
          address,
          client: (Ctor, asId = agencyOptions.id, clientOptions) => client(Ctor, address, asId, clientOptions),
        };
      },
      start,
      client,
      deleteStreamsAtClose(...ids) {
        for (const id of ids) streams.add(id);
      },
      file(name, contents) {
        const path = join(dir, name);
        writeFileSync(path, typeof contents === 'string' ? contents : JSON.stringify(contents));
        return path;
      },
      onClose(run) {
        undo.push({ what: 'run a clean-up of the test', run });
      },
      close,
    };
    return network;
  } catch (error) {
    // Nothing the half-made network holds may outlive the failed set-up.
    await close().catch(() => undefined);
    throw error;
  }
}
