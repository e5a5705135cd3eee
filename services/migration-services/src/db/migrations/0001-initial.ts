import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('inbox_referral')
    .addColumn('referral_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('referrer_agency_id', 'text', (c) => c.notNull())
    .addColumn('purpose', 'integer', (c) => c.notNull())
    .addColumn('age_group', 'integer', (c) => c.notNull())
    .addColumn('consent_id', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('decline_reason', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('first_contact_date', 'text')
    .addColumn('contact_channel', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('interpreter_used', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema.createIndex('inbox_referral_status_idx').on('inbox_referral').columns(['status', 'referral_id']).execute();
  await db.schema
    .createTable('newcomer_record')
    .addColumn('referral_id', 'text', (c) => c.primaryKey().references('inbox_referral.referral_id'))
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('owner_agency_id', 'text', (c) => c.notNull())
    .addColumn('consent_id', 'text', (c) => c.notNull())
    .addColumn('legal_basis', 'text', (c) => c.notNull())
    .addColumn('categories', sql`integer[]`, (c) => c.notNull())
    .addColumn('given_names', 'text')
    .addColumn('family_name', 'text')
    .addColumn('birth_date', 'text')
    .addColumn('nationality', 'text')
    .addColumn('languages', sql`text[]`)
    .addColumn('municipality', 'text')
    .addColumn('residence_status', 'text')
    .addColumn('fetched_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}
