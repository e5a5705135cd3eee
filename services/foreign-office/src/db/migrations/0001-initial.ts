import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('newcomer')
    .addColumn('newcomer_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull().unique())
    .addColumn('given_names', 'text', (c) => c.notNull())
    .addColumn('family_name', 'text', (c) => c.notNull())
    .addColumn('birth_date', 'text', (c) => c.notNull())
    .addColumn('nationality', 'text', (c) => c.notNull())
    .addColumn('languages', sql`text[]`, (c) => c.notNull())
    .addColumn('municipality', 'text', (c) => c.notNull())
    .addColumn('residence_status', 'integer', (c) => c.notNull())
    .addColumn('registered_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('consent')
    .addColumn('consent_id', 'text', (c) => c.primaryKey())
    .addColumn('newcomer_id', 'text', (c) => c.notNull().references('newcomer.newcomer_id'))
    .addColumn('recipients', sql`text[]`, (c) => c.notNull())
    .addColumn('purposes', sql`integer[]`, (c) => c.notNull())
    .addColumn('data_categories', sql`integer[]`, (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('text_version', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('interpreter_used', 'boolean', (c) => c.notNull())
    .addColumn('granted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('withdrawn_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('consent_newcomer_idx').on('consent').column('newcomer_id').execute();
  await db.schema
    .createTable('referral')
    .addColumn('referral_id', 'text', (c) => c.primaryKey())
    .addColumn('newcomer_id', 'text', (c) => c.notNull().references('newcomer.newcomer_id'))
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('consent_id', 'text', (c) => c.notNull().references('consent.consent_id'))
    .addColumn('purpose', 'integer', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('provider_id', 'text')
    .addColumn('decline_reason', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('preferred_provider_id', 'text')
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('referral_newcomer_idx').on('referral').column('newcomer_id').execute();
  await db.schema
    .createTable('data_access_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('caller_agency_id', 'text', (c) => c.notNull())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('purpose', 'integer', (c) => c.notNull())
    .addColumn('categories', sql`integer[]`, (c) => c.notNull())
    .addColumn('legal_basis', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .execute();
}
