import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Consents the owner reported withdrawn: referrals under them are closed and never routed again.
  await db.schema
    .createTable('consent_withdrawal')
    .addColumn('consent_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('owner_agency_id', 'text', (c) => c.notNull())
    .addColumn('received_by_agency_id', 'text', (c) => c.notNull())
    .addColumn('withdrawn_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // One erasure request per recipient of a withdrawn consent, and its confirmation (Art. 19 GDPR).
  await db.schema
    .createTable('erasure_request')
    .addColumn('consent_id', 'text', (c) => c.notNull())
    .addColumn('recipient_agency_id', 'text', (c) => c.notNull())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('erased_categories', sql`integer[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('retained', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addPrimaryKeyConstraint('erasure_request_pk', ['consent_id', 'recipient_agency_id'])
    .execute();
  await db.schema.createIndex('erasure_request_case_idx').on('erasure_request').column('case_ref').execute();
  await db.schema.createIndex('hub_referral_consent_idx').on('hub_referral').column('consent_id').execute();
}
