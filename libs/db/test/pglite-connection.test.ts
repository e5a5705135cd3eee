import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../src/index.js';

// The embedded database behind node-postgres through the batching connection: what a service
// relies on — values of every kind back as written, errors as errors, named statements reused,
// transactions that roll back — must hold as it did through PGlite's own adapter.
describe('node-postgres on PGlite through the batching connection', () => {
  let database: Database<any>;
  beforeAll(async () => {
    database = await openDatabase<any>({ dataDir: 'memory://' });
    await sql`create table item (id integer primary key, body text, data bytea, n bigint, at timestamptz, tags text[], doc jsonb)`.execute(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('returns what was written, value by value', async () => {
    const at = new Date('2026-11-21T10:11:12.345Z');
    await database.db
      .insertInto('item')
      .values({ id: 1, body: 'محمد Олена Jürgen', data: Buffer.from([0, 1, 254, 255]), n: 9_007_199_254_740_991, at, tags: ['ar', 'uk'], doc: JSON.stringify({ a: [1, 'x'] }) })
      .execute();
    const row = await database.db.selectFrom('item').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
    expect(row).toEqual({ id: 1, body: 'محمد Олена Jürgen', data: Buffer.from([0, 1, 254, 255]), n: 9_007_199_254_740_991, at, tags: ['ar', 'uk'], doc: { a: [1, 'x'] } });
  });

  it('reports a failing statement and stays usable, also for the same named statement', async () => {
    const insert = (id: number) => database.db.insertInto('item').values({ id, body: `b${id}` }).execute();
    await insert(2);
    await expect(insert(2)).rejects.toThrow(/duplicate key value violates unique constraint "item_pkey"/);
    await expect(sql`select * from no_such_table where id = ${1}`.execute(database.db)).rejects.toThrow(/relation "no_such_table" does not exist/);
    await insert(3);
    const ids = await database.db.selectFrom('item').select('id').where('id', 'in', [2, 3]).orderBy('id').execute();
    expect(ids.map((r) => r.id)).toEqual([2, 3]);
  });

  it('rolls back a transaction whose statement failed, and the next one commits', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await trx.insertInto('item').values({ id: 10, body: 'kept?' }).execute();
        await trx.insertInto('item').values({ id: 10, body: 'duplicate' }).execute();
      }),
    ).rejects.toThrow(/duplicate key/);
    await database.db.transaction().execute(async (trx) => {
      await trx.insertInto('item').values({ id: 11, body: 'committed' }).execute();
    });
    const rows = await database.db.selectFrom('item').select(['id', 'body']).where('id', 'in', [10, 11]).execute();
    expect(rows).toEqual([{ id: 11, body: 'committed' }]);
  });

  it('answers many queries in flight at once, each with its own result', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sql<{ v: number; t: string }>`select ${i}::int as v, ${'t' + i}::text as t`.execute(database.db)),
    );
    results.forEach((r, i) => expect(r.rows).toEqual([{ v: i, t: `t${i}` }]));
  });

  it('runs a simple (unparameterised) query with several statements', async () => {
    await sql`insert into item (id, body) values (20, 'a'); insert into item (id, body) values (21, 'b')`.execute(database.db);
    const rows = await database.db.selectFrom('item').select('body').where('id', 'in', [20, 21]).orderBy('id').execute();
    expect(rows.map((r) => r.body)).toEqual(['a', 'b']);
  });
});
