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

// A transaction's `begin` is answered at once and goes over with the transaction's first
// statement, one call into the database fewer per transaction. What must hold: the statements
// still run inside the transaction (a rollback undoes them, a failure in that first statement
// rolls back), an empty transaction commits, and the calls into the database are one fewer.
describe('the begin of a transaction, sent with its first statement', () => {
  let database: Database<any>;
  beforeAll(async () => {
    database = await openDatabase<any>({ dataDir: 'memory://' });
    await sql`create table item (id integer primary key, body text)`.execute(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('takes one call fewer into the database per transaction', async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const pg = (await import('pg')).default;
    const { pgliteClientConfig } = await import('../src/pglite-connection.js');
    const pglite = await PGlite.create('memory://');
    let calls = 0;
    const execProtocolStream = pglite.execProtocolStream.bind(pglite);
    pglite.execProtocolStream = ((...args: Parameters<typeof execProtocolStream>) => {
      calls++;
      return execProtocolStream(...args);
    }) as typeof pglite.execProtocolStream;
    const client = new pg.Client(pgliteClientConfig(pglite) as never);
    await client.connect();
    await client.query('create table t (id integer primary key)');
    calls = 0;
    await client.query('begin');
    await client.query('insert into t values ($1)', [1]);
    await client.query('select 1');
    await client.query('commit');
    expect(calls).toBe(3);
    const status = await client.query('select count(*)::int as n from t');
    expect(status.rows).toEqual([{ n: 1 }]);
    await client.end();
    await pglite.close();
  });

  it('runs the first statement inside the transaction: a rollback undoes it', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await trx.insertInto('item').values({ id: 1, body: 'rolled back' }).execute();
        throw new Error('the caller gives up');
      }),
    ).rejects.toThrow(/gives up/);
    expect(await database.db.selectFrom('item').selectAll().where('id', '=', 1).execute()).toEqual([]);
  });

  it('rolls back when the first statement itself fails, and the connection goes on', async () => {
    await database.db.insertInto('item').values({ id: 2, body: 'there' }).execute();
    await expect(
      database.db.transaction().execute(async (trx) => {
        await trx.insertInto('item').values({ id: 2, body: 'duplicate' }).execute();
      }),
    ).rejects.toThrow(/duplicate key/);
    // Outside a transaction again: this insert commits on its own, and a failed one after it
    // does not take it along.
    await database.db.insertInto('item').values({ id: 3, body: 'alone' }).execute();
    await expect(database.db.insertInto('item').values({ id: 3, body: 'again' }).execute()).rejects.toThrow(/duplicate key/);
    const rows = await database.db.selectFrom('item').select(['id', 'body']).where('id', 'in', [2, 3]).orderBy('id').execute();
    expect(rows).toEqual([{ id: 2, body: 'there' }, { id: 3, body: 'alone' }]);
  });

  it('commits an empty transaction and one that only reads', async () => {
    await database.db.transaction().execute(async () => {});
    const n = await database.db.transaction().execute(async (trx) => (await sql<{ n: number }>`select count(*)::int as n from item`.execute(trx)).rows[0]!.n);
    expect(n).toBe(2);
    await database.db.insertInto('item').values({ id: 4, body: 'after' }).execute();
  });
});
