import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, openDatabase, type TestDatabase } from '../src/index.js';
import { StatementNames } from '../src/prepared-statements.js';

describe('named (prepared) statements', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb.drop();
  });

  it('gives each parameterised text one name, and none past the limit', () => {
    const names = new StatementNames(2);
    expect(names.nameFor('select $1')).toBe('lotse_1');
    expect(names.nameFor('select $1')).toBe('lotse_1');
    expect(names.nameFor('select $1, $2')).toBe('lotse_2');
    expect(names.nameFor('select $1, $2, $3')).toBeUndefined();
  });

  for (const kind of ['postgres', 'pglite'] as const) {
    it(`prepares parameterised statements once per connection on ${kind}, not begin/commit, and returns the same rows`, async () => {
      const { db, close } = await openDatabase<any>(kind === 'postgres' ? { url: testDb.url, dataDir: 'unused', poolSize: 1 } : { dataDir: 'memory://' });
      try {
        const results = [];
        for (const n of [1, 2, 3]) results.push((await sql<{ n: number }>`select ${n}::int as n`.execute(db)).rows[0]!.n);
        expect(results).toEqual([1, 2, 3]);
        await db.transaction().execute(async (trx) => {
          await sql`select ${4}::int as n`.execute(trx);
        });
        const prepared = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements order by name`.execute(db);
        expect(prepared.rows.map((r) => r.statement)).toEqual(['select $1::int as n']);
        expect(prepared.rows[0]!.name).toMatch(/^lotse_\d+$/);
      } finally {
        await close();
      }
    });
  }
});
