import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, migrateToLatest, openDatabase, type TestDatabase } from '../src/index.js';

const migrations = {
  '0001_note': {
    up: async (db: any) => {
      await db.schema.createTable('note').addColumn('id', 'integer', (c: any) => c.primaryKey()).addColumn('text', 'text').execute();
    },
  },
};

describe('openDatabase', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb.drop();
  });

  it('runs migrations once against PostgreSQL and keeps text in any script', async () => {
    const { db, close } = await openDatabase<any>({ url: testDb.url, dataDir: 'unused' });
    expect(await migrateToLatest(db, migrations)).toEqual(['0001_note']);
    expect(await migrateToLatest(db, migrations)).toEqual([]);
    await db.insertInto('note').values({ id: 1, text: 'محمد Олена Jürgen' }).execute();
    const row = await db.selectFrom('note').selectAll().executeTakeFirstOrThrow();
    expect(row.text).toBe('محمد Олена Jürgen');
    await close();
  });

  it('opens an embedded PGlite when no URL is given and rolls back a failed transaction', async () => {
    const { db, close, kind } = await openDatabase<any>({ dataDir: 'memory://' });
    expect(kind).toBe('pglite');
    await migrateToLatest(db, migrations);
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('note').values({ id: 1, text: 'a' }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from note`.execute(db);
    expect(rows[0]!.n).toBe(0);
    await close();
  });
});
