// Integration tier: messaging_0004 renames the dedup table `inbox` to `applied_event` on a database
// that already has it (and its rows), on PostgreSQL and on the embedded PGlite, and the events
// recorded before the rename still count as applied afterwards.
import { createTestDatabase, migrateToLatest, openDatabase, sql, type Database, type Kysely, type TestDatabase } from '@lotse/db';
import { envelope } from '@lotse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOnce, type ConsumedEvent } from '../src/apply-once.js';
import { consumerMigrations } from '../src/index.js';

const rename = 'messaging_0004_inbox_to_applied_event';
/** The consumer's migrations as an existing database ran them, before the rename. */
const beforeRename = Object.fromEntries(Object.entries(consumerMigrations).filter(([name]) => name !== rename));

const event = (eventId: string): ConsumedEvent => ({
  envelope: envelope.Envelope.fromPartial({ eventId, eventType: 'Test' }),
  subject: 'lotse.producer.test',
  headers: {},
  deliveryCount: 1,
});

async function namesOf(db: Kysely<any>): Promise<{ tables: string[]; constraints: string[]; indexes: string[] }> {
  const tables = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public' and tablename in ('inbox', 'applied_event')`.execute(db);
  const constraints = await sql<{ name: string }>`select conname as name from pg_constraint where conrelid = 'applied_event'::regclass order by conname`.execute(db);
  const indexes = await sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'applied_event' order by indexname`.execute(db);
  return { tables: tables.rows.map((r) => r.name), constraints: constraints.rows.map((r) => r.name), indexes: indexes.rows.map((r) => r.name) };
}

describe(`${rename} on an existing database`, () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase('lotse_messaging_rename');
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  for (const kind of ['postgres', 'pglite'] as const) {
    it(`renames inbox, its key and its index, and keeps what was applied (${kind})`, async () => {
      const database: Database<any> = await openDatabase<any>(kind === 'postgres' ? { url: testDb.url, dataDir: 'unused', poolSize: 1 } : { dataDir: 'memory://' });
      try {
        const { db } = database;
        expect(await migrateToLatest(db, beforeRename)).not.toContain(rename);
        await sql`insert into inbox (consumer, event_id, subject) values ('recipient', 'e-before', 'lotse.producer.test')`.execute(db);

        expect(await migrateToLatest(db, consumerMigrations)).toEqual([rename]);

        const names = await namesOf(db);
        expect(names.tables).toEqual(['applied_event']);
        expect(names.indexes).toEqual(['applied_event_event_id_idx', 'applied_event_pk']);
        // PostgreSQL 18 (PGlite) names the not-null constraints as well; none keeps the old name.
        expect(names.constraints).toContain('applied_event_pk');
        expect(names.constraints.filter((name) => !name.startsWith('applied_event_'))).toEqual([]);
        const handled: string[] = [];
        const handle = async (_trx: unknown, e: ConsumedEvent) => void handled.push(e.envelope.eventId);
        // Applied before the rename: a duplicate now. A new one is recorded once.
        expect(await applyOnce(db, 'recipient', event('e-before'), handle)).toBe('duplicate');
        expect(await applyOnce(db, 'recipient', event('e-after'), handle)).toBe('handled');
        expect(await applyOnce(db, 'recipient', event('e-after'), handle)).toBe('duplicate');
        expect(handled).toEqual(['e-after']);
        const rows = await sql<{ event_id: string }>`select event_id from applied_event order by event_id`.execute(db);
        expect(rows.rows.map((r) => r.event_id)).toEqual(['e-after', 'e-before']);
      } finally {
        await database.close();
      }
    });
  }
});
