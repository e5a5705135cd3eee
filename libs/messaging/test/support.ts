import { randomBytes } from 'node:crypto';
import { createTestDatabase, migrateToLatest, openDatabase, sql, testServerUrl, type Kysely, type Migrations } from '@lotse/db';
import { createLogger } from '@lotse/logger';
import { connectNats, consumerMigrations, outboxMigrations, streamName, type NatsClients } from '../src/index.js';

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
  await migrateToLatest(database.db, outboxMigrations, consumerMigrations, effectMigrations);
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

// The broker a test starts itself lives with the other test helpers in @lotse/testing; this
// package cannot depend on that one (it depends on this), so it is imported by path.
export { startTestBroker, type TestBroker } from '../../testing/src/test-broker.js';
