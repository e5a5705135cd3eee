import { migrateToLatest, openDatabase, sql, type Database, type Kysely } from '@lotse/db';
import type { TestDatabase } from '@lotse/db';
import { createTestDatabase } from '@lotse/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, auditEntriesFor, auditMigrations, GENESIS_HASH, verifyAuditChain, type AuditEntryInput } from '../src/index.js';

// Integration tier: the audit log on the real PostgreSQL (pooled connections, a superuser that
// can switch the append-only trigger off), and once on the embedded PGlite.

let testDb: TestDatabase;
let database: Database<any>;
let db: Kysely<any>;

const entry = (i: number, overrides: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
  actorAgencyId: 'kv-mayen-koblenz',
  actor: 'caseworker',
  caseworkerId: `cw-${i % 3}`,
  action: 'read',
  subjectRef: `C-${i % 4}`,
  categories: [1, 3],
  purpose: 1,
  legalBasis: `consent:${i}`,
  details: { referral_id: `r-${i}`, z: 1, a: ['x', 'y'] },
  ...overrides,
});

async function append(count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await db.transaction().execute((trx) => appendAudit(trx, entry(i)));
}

/** As a superuser who switches the append-only trigger off (what the chain must still catch). */
async function tamper(statement: ReturnType<typeof sql>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`alter table audit_log disable trigger user`.execute(trx);
    await statement.execute(trx);
    await sql`alter table audit_log enable trigger user`.execute(trx);
  });
}

beforeAll(async () => {
  testDb = await createTestDatabase('lotse_audit');
  database = await openDatabase<any>({ url: testDb.url, dataDir: 'unused', poolSize: 10 });
  db = database.db;
  await migrateToLatest(db, auditMigrations);
});

afterAll(async () => {
  await database?.close();
  await testDb?.drop();
});

beforeEach(async () => {
  await tamper(sql`truncate audit_log`);
});

describe('audit log (PostgreSQL)', () => {
  it('chains every row to the one before and verifies', async () => {
    await append(6);
    const rows = await db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    const result = await verifyAuditChain(db);
    expect(result).toEqual({ ok: true, rows: 6, head: { seq: 6, hash: rows[5]!.hash } });
    // The case's entries, oldest first, as the data-subject report reads them.
    expect((await auditEntriesFor(db, 'C-1')).map((r) => r.seq)).toEqual([1, 5]);
  });

  it('refuses updates, deletes and truncation while the trigger is on', async () => {
    await append(2);
    await expect(sql`update audit_log set purpose = 2 where seq = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log where seq = 2`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`.execute(db)).rejects.toThrow(/append-only/);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it("names the row whose categories a superuser changed", async () => {
    await append(5);
    await tamper(sql`update audit_log set categories = '{1,2,3,4,5}' where seq = 3`);
    const result = await verifyAuditChain(db);
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ seq: 3, reason: expect.stringMatching(/altered/) });
    expect(result.rows).toBe(2);
  });

  it('finds an altered row even when its hash was recomputed: the next link breaks', async () => {
    await append(4);
    // Someone who knows the scheme rewrites row 2 and its hash — row 3 still points at the old one.
    await tamper(sql`update audit_log set legal_basis = 'consent:forged', hash = repeat('a', 64) where seq = 2`);
    const result = await verifyAuditChain(db);
    // Row 2's own content no longer matches the forged hash either; the first broken link is 2.
    expect(result.firstBroken?.seq).toBe(2);
  });

  it('names a deleted row', async () => {
    await append(5);
    await tamper(sql`delete from audit_log where seq = 2`);
    const result = await verifyAuditChain(db);
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ seq: 2, reason: expect.stringMatching(/row 2 is missing/) });
  });

  it('names the first of two rows swapped in order', async () => {
    await append(5);
    // Swap rows 3 and 4 (everything but seq), as if they had been written the other way round.
    await tamper(sql`
      update audit_log a set at = b.at, actor_agency_id = b.actor_agency_id, actor = b.actor, caseworker_id = b.caseworker_id,
        action = b.action, subject_ref = b.subject_ref, categories = b.categories, purpose = b.purpose, legal_basis = b.legal_basis,
        details = b.details, prev_hash = b.prev_hash, hash = b.hash || '-'
      from audit_log b where (a.seq, b.seq) in ((3, 4), (4, 3))`);
    await tamper(sql`update audit_log set hash = left(hash, 64) where seq in (3, 4)`);
    const result = await verifyAuditChain(db);
    expect(result.ok).toBe(false);
    expect(result.firstBroken?.seq).toBe(3);
    expect(result.firstBroken?.reason).toMatch(/prev_hash/);
  });

  it('finds rows cut off at the end against a head from an earlier verification', async () => {
    await append(5);
    const earlier = await verifyAuditChain(db);
    await tamper(sql`delete from audit_log where seq >= 4`);
    expect((await verifyAuditChain(db)).ok).toBe(true);
    const result = await verifyAuditChain(db, { knownHead: earlier.head! });
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ seq: 4, reason: expect.stringMatching(/cut off/) });
  });

  it('stays linear under concurrent appends on a pool of connections', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        db.transaction().execute(async (trx) => {
          // Some work before the append, so transactions overlap.
          await sql`select pg_sleep(${(i % 5) / 1000})`.execute(trx);
          await appendAudit(trx, entry(i));
        }),
      ),
    );
    const result = await verifyAuditChain(db);
    expect(result).toMatchObject({ ok: true, rows: 40 });
    const seqs = (await db.selectFrom('audit_log').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('rolls back with the transaction it records', async () => {
    await append(1);
    await expect(
      db.transaction().execute(async (trx) => {
        await appendAudit(trx, entry(2));
        throw new Error('the access failed');
      }),
    ).rejects.toThrow('the access failed');
    expect((await verifyAuditChain(db)).rows).toBe(1);
    await append(1);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, rows: 2 });
  });

  it('must run in a transaction and refuses details it cannot hash', async () => {
    await expect(appendAudit(db as any, entry(1))).rejects.toThrow(/inside the transaction/);
    await expect(db.transaction().execute((trx) => appendAudit(trx, entry(1, { details: { ratio: 0.5 } })))).rejects.toThrow(/whole numbers/);
    expect((await verifyAuditChain(db)).rows).toBe(0);
  });
});

describe('audit log (embedded PGlite)', () => {
  it('migrates, refuses changes and verifies the same way', async () => {
    const embedded = await openDatabase<any>({ dataDir: 'memory://' });
    try {
      await migrateToLatest(embedded.db, auditMigrations);
      for (let i = 1; i <= 3; i++) await embedded.db.transaction().execute((trx) => appendAudit(trx, entry(i, { details: { name_free: 'ids only', n: i } })));
      expect(await verifyAuditChain(embedded.db)).toMatchObject({ ok: true, rows: 3 });
      await expect(sql`delete from audit_log where seq = 1`.execute(embedded.db)).rejects.toThrow(/append-only/);
      await sql`alter table audit_log disable trigger user`.execute(embedded.db);
      await sql`update audit_log set purpose = 4 where seq = 2`.execute(embedded.db);
      expect((await verifyAuditChain(embedded.db)).firstBroken?.seq).toBe(2);
    } finally {
      await embedded.close();
    }
  });
});
