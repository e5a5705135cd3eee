import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('case_index')
    .addColumn('case_ref', 'text', (c) => c.primaryKey())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('current_agency_id', 'text', (c) => c.notNull())
    .addColumn('referral_id', 'text', (c) => c.notNull())
    .addColumn('municipality', 'text', (c) => c.notNull())
    .addColumn('age_group', 'integer', (c) => c.notNull())
    .addColumn('opened_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('case_index_status_idx').on('case_index').columns(['status', 'case_ref']).execute();
  await db.schema
    .createTable('hub_referral')
    .addColumn('referral_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('referrer_agency_id', 'text', (c) => c.notNull())
    .addColumn('provider_id', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('purpose', 'integer', (c) => c.notNull())
    .addColumn('consent_id', 'text', (c) => c.notNull())
    .addColumn('consented_recipients', sql`text[]`, (c) => c.notNull())
    .addColumn('municipality', 'text', (c) => c.notNull())
    .addColumn('age_group', 'integer', (c) => c.notNull())
    .addColumn('preferred_provider_id', 'text')
    .addColumn('decline_reason', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('hub_referral_provider_status_idx').on('hub_referral').columns(['provider_id', 'status']).execute();
  await db.schema
    .createTable('timeline_entry')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('referral_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('agency_id', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('trace_id', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('timeline_case_idx').on('timeline_entry').columns(['case_ref', 'occurred_at']).execute();
}
