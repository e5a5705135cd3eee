import { sql, type Kysely } from 'kysely';
import type { Migrations } from '@lotse/db';

// Names carry a "messaging_" prefix so they never collide with a service's own migrations.

export const outboxMigrations: Migrations = {
  messaging_0001_outbox: {
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('outbox')
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('case_ref', 'text', (c) => c.notNull())
        .addColumn('payload', 'bytea', (c) => c.notNull())
        .addColumn('headers', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('published_at', 'timestamptz')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .execute();
      // The relay only ever looks for what is still unpublished; keep that lookup small.
      await sql`create index outbox_unpublished_idx on outbox (seq) where published_at is null`.execute(db);
      await db.schema.createIndex('outbox_created_at_idx').on('outbox').column('created_at').execute();
    },
  },
  // Withdrawal finds a case's unpublished events to strip routing facts from them; without this
  // the lookup scanned every event the agency ever sent.
  messaging_0002_outbox_case: {
    up: async (db: Kysely<any>) => {
      await db.schema.createIndex('outbox_case_idx').on('outbox').columns(['case_ref', 'event_type']).execute();
    },
  },
  // The broker can forget a stream (wiped store, deleted stream, fresh broker); the producer keeps
  // the stream's creation time and how far its consumers confirmed, to notice and re-publish.
  messaging_0003_outbox_stream: {
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('outbox_stream')
        .addColumn('stream', 'text', (c) => c.primaryKey())
        .addColumn('created', 'text', (c) => c.notNull())
        .addColumn('safe_before', 'timestamptz', (c) => c.notNull().defaultTo(sql`to_timestamp(0)`))
        .addColumn('safe_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('resets', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_reset_at', 'timestamptz')
        .addColumn('republished', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // No index on outbox.published_at for the rewind: it runs once per reset (a scan is fine
      // then), while an index would cost a write on every event published.
    },
  },
  // How often a row was sent again on a producer's own reconciliation. A copy under the same
  // Nats-Msg-Id inside the stream's duplicate window is acknowledged and dropped by the broker —
  // also after a purge, which keeps the window — so a send again goes under `<event id>~<n>`;
  // consumers still drop copies by the event id in the envelope.
  messaging_0004_outbox_resends: {
    up: async (db: Kysely<any>) => {
      await db.schema.alterTable('outbox').addColumn('resends', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  // Issue 17: events without a natural answer are confirmed by their recipient (ConfirmReceipts);
  // one row per event and recipient once the producer asked, so the outbox itself stays as it is.
  messaging_0005_outbox_receipt: {
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('outbox_receipt')
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        // Times the event was sent again because the recipient did not have it.
        .addColumn('sends', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('asked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('confirmed_at', 'timestamptz')
        .addPrimaryKeyConstraint('outbox_receipt_pk', ['recipient', 'event_id'])
        .execute();
      // What is still open is few; the confirmed rows (nearly all) stay out of this index.
      await sql`create index outbox_receipt_open_idx on outbox_receipt (recipient, event_id) where confirmed_at is null`.execute(db);
    },
  },
};

/**
 * The consuming side's tables: the applied events (the dedup record, first made as `inbox`) and
 * the parked messages. The first three keep their names and the old table name: they ran as they
 * are on existing databases; 0004 renames.
 */
export const consumerMigrations: Migrations = {
  messaging_0001_inbox: {
    up: async (db: Kysely<any>) => {
      // Keyed by consumer too: two consumers in one service may each need to apply the same event.
      await db.schema
        .createTable('inbox')
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('inbox_pk', ['consumer', 'event_id'])
        .execute();
      await db.schema
        .createTable('parked_message')
        .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text')
        .addColumn('headers', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('data', 'bytea', (c) => c.notNull())
        .addColumn('error', 'text', (c) => c.notNull())
        .addColumn('deliveries', 'integer', (c) => c.notNull())
        .addColumn('parked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('replayed_at', 'timestamptz')
        .addColumn('discarded_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('parked_message_consumer_idx').on('parked_message').columns(['consumer', 'parked_at']).execute();
    },
  },
  // Issue 11: events are signed by their producer; the inbox keeps signature, certificate and the
  // signed bytes, so a recipient can prove who told it what (as X-Road's signed message log does).
  messaging_0002_inbox_signature: {
    up: async (db: Kysely<any>) => {
      await db.schema
        .alterTable('inbox')
        .addColumn('signature', 'text')
        .addColumn('signer_certificate', 'text')
        .addColumn('envelope', 'bytea')
        .execute();
    },
  },
  // A producer asks which of its events arrived by event id alone (ConfirmReceipts); the key
  // starts with the consumer, so without this the answer scanned the whole inbox.
  messaging_0003_inbox_event_id: {
    up: async (db: Kysely<any>) => {
      await db.schema.createIndex('inbox_event_id_idx').on('inbox').column('event_id').execute();
    },
  },
  // "inbox" also meant the referral inbox (inbox_referral, the recipient's list of referrals); the
  // table is the record of events each consumer applied, so it says so. Constraint and index names
  // follow, found in the catalogue: PostgreSQL 18 (PGlite) also names the not-null constraints
  // (inbox_<column>_not_null), older servers do not. Renaming the key renames its index too.
  messaging_0004_inbox_to_applied_event: {
    up: async (db: Kysely<any>) => {
      await sql`alter table inbox rename to applied_event`.execute(db);
      const renamed = (name: string) => sql.id(`applied_event_${name.slice('inbox_'.length)}`);
      const constraints = await sql<{ name: string }>`
        select conname as name from pg_constraint where conrelid = 'applied_event'::regclass and starts_with(conname, 'inbox_')`.execute(db);
      for (const { name } of constraints.rows) await sql`alter table applied_event rename constraint ${sql.id(name)} to ${renamed(name)}`.execute(db);
      const indexes = await sql<{ name: string }>`
        select indexname as name from pg_indexes where schemaname = current_schema() and tablename = 'applied_event' and starts_with(indexname, 'inbox_')`.execute(db);
      for (const { name } of indexes.rows) await sql`alter index ${sql.id(name)} rename to ${renamed(name)}`.execute(db);
    },
  },
};
