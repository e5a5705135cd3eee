import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, migrateToLatest, openDatabase, sql, testServerUrl, type Kysely, type Migrations } from '@lotse/db';
import { createLogger } from '@lotse/logger';
import { connectNats, inboxMigrations, outboxMigrations, startNatsServer, streamName, type NatsClients, type NatsServerProcess } from '../src/index.js';

export const natsUrl = '127.0.0.1:4222';
export const logger = createLogger('messaging-test', { level: process.env.LOG_LEVEL ?? 'silent' });

/** A table a test handler writes to, so "the effect happened once" is a row count. */
export const effectMigrations: Migrations = {
  test_0001_effect: {
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('effect')
        .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .execute();
    },
  },
};

export function randomAgencyId(): string {
  return `t-${randomBytes(4).toString('hex')}`;
}

export interface Suite {
  db: Kysely<any>;
  nats: NatsClients;
  /** Streams to delete afterwards. */
  agencies: string[];
  cleanup(): Promise<void>;
}

/** `servers`: a broker of the test's own (see startTestBroker); the shared one on 4222 otherwise. */
export async function setupSuite(options: { servers?: string } = {}): Promise<Suite> {
  const testDb = await createTestDatabase('lotse_messaging');
  const database = await openDatabase<any>({ url: testDb.url, dataDir: 'unused', poolSize: 5, traceStatements: 'all' });
  await migrateToLatest(database.db, outboxMigrations, inboxMigrations, effectMigrations);
  const nats = await connectNats({ servers: options.servers ?? natsUrl, name: 'messaging-test' });
  const agencies: string[] = [];
  return {
    db: database.db,
    nats,
    agencies,
    async cleanup() {
      for (const id of agencies) await nats.jsm.streams.delete(streamName(id)).catch(() => undefined);
      await nats.close();
      await database.close();
      // The pool's end() resolves before its sockets are closed; dropping the database WITH
      // (FORCE) meanwhile kills them and the late FATAL surfaces as an uncaught error. Wait for
      // the server to see them gone first.
      const admin = await openDatabase<any>({ url: testServerUrl, dataDir: 'unused', poolSize: 1 });
      try {
        await waitFor(
          async () => (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = ${testDb.name}`.execute(admin.db)).rows[0]!.n === 0,
          5_000,
          'test database connections to close',
        );
      } finally {
        await admin.close();
      }
      await testDb.drop();
    },
  };
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function count(db: Kysely<any>, table: string, where = sql`true`): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${where}`.execute(db);
  return rows[0]!.n;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A nats-server of the test's own, on a free port with its store in a temporary folder, so a
 * test can wipe or replace the broker without touching the shared one on 4222.
 */
export interface TestBroker {
  url: string;
  /** kill -9, as a crash; the store stays as it was. */
  kill(): Promise<void>;
  /** Starts again on the same port: on the same store, or (`fresh`) on an empty new one. */
  start(options?: { fresh?: boolean }): Promise<void>;
  /** kill -9, delete the store, start again empty on the same port: a broker that forgot. */
  wipe(): Promise<void>;
  /** Stops the server and deletes every store it used. */
  cleanup(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'lotse-broker-'));
  let generation = 0;
  let storeDir = join(root, 'store-0');
  let server: NatsServerProcess | undefined;
  const start = async (options: { fresh?: boolean } = {}) => {
    if (options.fresh) storeDir = join(root, `store-${++generation}`);
    server = await startNatsServer({ port, storeDir, logFile: join(root, 'nats-server.log') });
  };
  await start();
  const kill = async () => {
    await server?.kill();
    server = undefined;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    start,
    async wipe() {
      await kill();
      rmSync(storeDir, { recursive: true, force: true });
      await start();
    },
    async cleanup() {
      await server?.stop();
      server = undefined;
      rmSync(root, { recursive: true, force: true });
    },
  };
}
