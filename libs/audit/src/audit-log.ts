import { sql, type Kysely, type Migrations, type Transaction } from '@lotse/db';
import { GENESIS_HASH, canonicalJson, rowHash, type Details } from './canonical.js';
import { setCaseRef } from '@lotse/grpc';

export const AUDIT_ACTIONS = ['read', 'write', 'fetch', 'export', 'erase', 'delete', 'refuse'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** A caseworker working through the agency's API, or the agency's own software (consumers, jobs). */
export type AuditActor = 'caseworker' | 'system';

/**
 * One access to personal data. Append-only and hash-chained: each row's hash covers the previous
 * row's hash and a canonical encoding of the row, so a changed, removed or reordered row breaks
 * the chain from there on.
 */
export interface AuditLogTable {
  seq: number;
  at: Date;
  /** From the caller's certificate (or this agency, for its own work). */
  actor_agency_id: string;
  actor: AuditActor;
  caseworker_id: string | null;
  /** The roles of the verified access token the person acted with (never the caller's word); null without one. */
  actor_roles: string[] | null;
  action: AuditAction;
  /** The pseudonymous case reference. */
  subject_ref: string;
  categories: number[];
  /** lotse.common.v1.Purpose; 0 = the agency's own statutory task. */
  purpose: number;
  /** "consent:<id>", a statute, "retention: <rule>"; empty for a refusal (there was none). */
  legal_basis: string;
  /** Ids and codes only — never names, birth dates or other personal data. */
  details: Details;
  prev_hash: string;
  hash: string;
}

export interface AuditTables {
  audit_log: AuditLogTable;
}

export interface AuditEntryInput {
  actorAgencyId: string;
  actor: AuditActor;
  caseworkerId?: string | null;
  /** From the verified token only (actorOfCall). */
  actorRoles?: readonly string[] | null;
  action: AuditAction;
  subjectRef: string;
  categories: readonly number[];
  purpose: number;
  legalBasis: string;
  details?: Details;
  /** Defaults to the database's clock; pass the agency's clock (AgencyContext.now) to follow overrides. */
  at?: Date;
}

// A fixed key in the two-integer advisory lock space, apart from the one-bigint space that the
// idempotency locks (hashtext) use. 0x4c6f7473 = "Lots".
const LOCK_CLASS = 0x4c6f7473;
const LOCK_KEY = 1;

/** The audit log's table; part of every agency database (add to the service's migrations). */
export const auditMigrations: Migrations = {
  audit_0001_audit_log: {
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('at', 'timestamptz', (c) => c.notNull())
        .addColumn('actor_agency_id', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull().check(sql`actor in ('caseworker', 'system')`))
        .addColumn('caseworker_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('read', 'write', 'fetch', 'export', 'erase', 'delete', 'refuse')`))
        .addColumn('subject_ref', 'text', (c) => c.notNull())
        .addColumn('categories', sql`integer[]`, (c) => c.notNull())
        .addColumn('purpose', 'integer', (c) => c.notNull())
        .addColumn('legal_basis', 'text', (c) => c.notNull())
        .addColumn('details', 'jsonb', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .execute();
      await db.schema.createIndex('audit_log_subject_idx').on('audit_log').columns(['subject_ref', 'seq']).execute();
      // Append-only for everyone who does not own the database: updates, deletes and truncation
      // are refused. An owner can still disable the trigger — that is what the chain is for.
      await sql`
        create function audit_log_append_only() returns trigger language plpgsql as $$
        begin
          raise exception 'audit_log is append-only: % refused', tg_op using errcode = '42501';
        end
        $$`.execute(db);
      await sql`create trigger audit_log_no_change before update or delete on audit_log for each row execute function audit_log_append_only()`.execute(db);
      await sql`create trigger audit_log_no_truncate before truncate on audit_log for each statement execute function audit_log_append_only()`.execute(db);
    },
  },
  // Which role a signed-in person acted in, besides their pseudonymous staff id: § 35 SGB I asks
  // who at an agency saw what, and the transparency report says which role saw the data.
  audit_0002_actor_roles: {
    up: async (db: Kysely<any>) => {
      await db.schema.alterTable('audit_log').addColumn('actor_roles', sql`text[]`).execute();
    },
  },
  // appendAudit's lock, head lookup and clock in one round trip. VOLATILE, so the select inside
  // runs on a snapshot taken after pg_advisory_xact_lock returns, not at the calling statement's
  // start (which would miss a row committed by the transaction it waited for).
  audit_0003_chain_lock_and_head: {
    up: async (db: Kysely<any>) => {
      await sql`
        create function audit_chain_lock_and_head(lock_class int, lock_key int)
        returns table (head_seq bigint, head_hash text, db_now timestamptz)
        language plpgsql volatile as $$
        begin
          perform pg_advisory_xact_lock(lock_class, lock_key);
          return query select a.seq, a.hash, now() from audit_log a order by a.seq desc limit 1;
          if not found then
            return query select null::bigint, null::text, now();
          end if;
        end
        $$`.execute(db);
    },
  },
};

const asAudit = (db: Kysely<any>) => db as unknown as Kysely<AuditTables>;

/**
 * Takes the chain's lock for the rest of the transaction (appendAudit takes it too; taking it
 * again is free). A transaction that locks rows which another auditing transaction may lock as
 * well — a consent FOR SHARE in a disclosure, FOR UPDATE in a withdrawal — calls this first,
 * before those row locks: every auditing transaction then takes the two kinds of lock in the same
 * order and none waits on another crosswise, and they run in the order they arrived (a row's
 * share lockers could otherwise keep a waiting FOR UPDATE out for as long as they overlap).
 */
export async function lockAuditChain(trx: Transaction<any>): Promise<void> {
  if (!trx.isTransaction) throw new Error('lockAuditChain must run inside a transaction');
  if (chainLocked.has(trx)) return;
  await sql`select pg_advisory_xact_lock(${sql.lit(LOCK_CLASS)}::int, ${sql.lit(LOCK_KEY)}::int)`.execute(trx);
  chainLocked.add(trx);
}

// What a transaction already knows of the chain, so a transaction that locks the chain and then
// appends (a disclosure), or appends several entries (a batch of consumed events), sends the lock
// and the head lookup once. Keyed by the transaction object: it lives as long as the transaction,
// and no other transaction can append while this one holds the lock.
const chainLocked = new WeakSet<Transaction<any>>();
const chainHeads = new WeakMap<Transaction<any>, { seq: number; hash: string }>();

/**
 * Appends one entry inside the caller's transaction, so the access and its record commit or
 * roll back together. Appends are serialised by a transaction-scoped advisory lock, so the chain
 * stays linear with many pooled connections; the lock is held until the caller commits, so
 * append as the last step of a transaction where possible.
 */
export async function appendAudit(trx: Transaction<any>, entry: AuditEntryInput): Promise<AuditLogTable> {
  if (!trx.isTransaction) throw new Error('appendAudit must run inside the transaction of the access it records');
  // Every audited access names its (pseudonymous) case on the call's span, so the console can
  // find the trace of any access from the case.
  setCaseRef(entry.subjectRef);
  const details = entry.details ?? {};
  // Fails early (before any lock) on values the canonical encoding cannot hold.
  canonicalJson(details);
  const db = asAudit(trx);
  let head = chainHeads.get(trx);
  let at = entry.at;
  if (!head) {
    // The lock, the chain's head and the database's clock in one statement (three before): the
    // function's own select takes a fresh snapshot after the lock is granted, so it sees what a
    // transaction that held the lock before committed. Taking the lock again is free.
    const { rows } = await sql<{ head_seq: number | null; head_hash: string | null; db_now: Date }>`
      select head_seq, head_hash, db_now from audit_chain_lock_and_head(${sql.lit(LOCK_CLASS)}::int, ${sql.lit(LOCK_KEY)}::int)`.execute(db);
    const found = rows[0]!;
    chainLocked.add(trx);
    head = found.head_seq === null ? undefined : { seq: Number(found.head_seq), hash: found.head_hash! };
    at ??= found.db_now;
  }
  at ??= (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0]!.now;
  const fields = {
    seq: (head ? Number(head.seq) : 0) + 1,
    // Millisecond precision, so what is read back is exactly what was hashed.
    at: new Date(at.getTime()),
    actor_agency_id: entry.actorAgencyId,
    actor: entry.actor,
    caseworker_id: entry.caseworkerId || null,
    actor_roles: entry.actorRoles?.length ? [...entry.actorRoles] : null,
    action: entry.action,
    subject_ref: entry.subjectRef,
    categories: [...entry.categories],
    purpose: entry.purpose,
    legal_basis: entry.legalBasis,
    details,
    prev_hash: head?.hash ?? GENESIS_HASH,
  };
  const row: AuditLogTable = { ...fields, hash: rowHash(fields) };
  await db
    .insertInto('audit_log')
    .values({ ...row, details: JSON.stringify(details) as unknown as Details })
    .execute();
  chainHeads.set(trx, { seq: row.seq, hash: row.hash });
  return row;
}

export interface ChainVerification {
  ok: boolean;
  /** Rows checked. */
  rows: number;
  firstBroken?: { seq: number; reason: string };
  head?: { seq: number; hash: string };
}

const BATCH = 1000;

/**
 * Walks the whole chain in order and recomputes every hash. Names the first link that does not
 * hold: a row whose content no longer matches its hash (altered), a sequence number missing
 * (deleted) or out of place (reordered), or a prev_hash that is not the previous row's hash.
 * With `knownHead` (from an earlier verification) rows cut off at the end are found too.
 */
export async function verifyAuditChain(db: Kysely<any>, options: { knownHead?: { seq: number; hash: string } } = {}): Promise<ChainVerification> {
  const audit = asAudit(db);
  let rows = 0;
  let previous: { seq: number; hash: string } | undefined;
  const broken = (seq: number, reason: string): ChainVerification => ({ ok: false, rows, firstBroken: { seq, reason }, head: previous });
  for (;;) {
    let query = audit.selectFrom('audit_log').selectAll().orderBy('seq').limit(BATCH);
    if (previous) query = query.where('seq', '>', previous.seq);
    const batch = await query.execute();
    for (const raw of batch) {
      const row = { ...raw, seq: Number(raw.seq) };
      const expected = (previous?.seq ?? 0) + 1;
      if (row.seq !== expected) {
        return broken(expected, row.seq > expected ? `row ${expected} is missing (deleted?): row ${row.seq} follows ${expected - 1}` : `row ${row.seq} appears out of order`);
      }
      const expectedPrev = previous?.hash ?? GENESIS_HASH;
      if (row.prev_hash !== expectedPrev) {
        return broken(row.seq, `prev_hash does not match the hash of row ${row.seq - 1} (rows reordered or replaced?)`);
      }
      if (rowHash(row) !== row.hash) {
        return broken(row.seq, "the row's content does not match its hash (row altered)");
      }
      rows++;
      previous = { seq: row.seq, hash: row.hash };
      if (options.knownHead && row.seq === options.knownHead.seq && row.hash !== options.knownHead.hash) {
        return broken(row.seq, 'the row differs from the head recorded by an earlier verification (chain rewritten?)');
      }
    }
    if (batch.length < BATCH) break;
  }
  if (options.knownHead && options.knownHead.seq > (previous?.seq ?? 0)) {
    return broken((previous?.seq ?? 0) + 1, `the chain ends at row ${previous?.seq ?? 0} but an earlier verification saw row ${options.knownHead.seq} (rows cut off at the end)`);
  }
  return { ok: true, rows, head: previous };
}

/** A case's audit entries, oldest first. */
export async function auditEntriesFor(db: Kysely<any>, subjectRef: string): Promise<AuditLogTable[]> {
  const rows = await asAudit(db).selectFrom('audit_log').selectAll().where('subject_ref', '=', subjectRef).orderBy('seq').execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}
