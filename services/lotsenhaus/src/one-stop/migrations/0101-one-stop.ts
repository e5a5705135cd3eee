import { sql, type Kysely } from 'kysely';

// The Lotsenhaus as an agency of its own: the one-stop desk's tables, apart from the hub's.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('one_stop_referral')
    .addColumn('referral_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('referrer_agency_id', 'text', (c) => c.notNull())
    .addColumn('owner_agency_id', 'text', (c) => c.notNull())
    .addColumn('purpose', 'integer', (c) => c.notNull())
    .addColumn('consent_id', 'text', (c) => c.notNull())
    .addColumn('age_group', 'integer', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('accepted_at', 'timestamptz')
    .execute();
  await db.schema
    .createTable('one_stop_intake')
    .addColumn('intake_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('referral_id', 'text', (c) => c.references('one_stop_referral.referral_id'))
    .addColumn('needs', sql`integer[]`, (c) => c.notNull())
    .addColumn('note_codes', sql`text[]`, (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('one_stop_intake_case_idx').on('one_stop_intake').column('case_ref').execute();
  await db.schema
    .createTable('one_stop_appointment')
    .addColumn('appointment_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('offer_code', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('cancel_reason', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('booked_at', 'timestamptz', (c) => c.notNull())
    .addColumn('cancelled_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('one_stop_appointment_case_idx').on('one_stop_appointment').columns(['case_ref', 'at']).execute();
  await db.schema.createIndex('one_stop_appointment_partner_idx').on('one_stop_appointment').columns(['partner_id', 'at']).execute();
  await db.schema.createIndex('one_stop_appointment_at_idx').on('one_stop_appointment').column('at').execute();
  // Personal data under the newcomer's consent (qualifications, work experience, languages).
  await db.schema
    .createTable('one_stop_assessment')
    .addColumn('assessment_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('consent_id', 'text', (c) => c.notNull())
    .addColumn('qualifications', 'jsonb', (c) => c.notNull())
    .addColumn('work_experience', 'jsonb', (c) => c.notNull())
    .addColumn('languages', 'jsonb', (c) => c.notNull())
    .addColumn('assessed_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('one_stop_assessment_case_idx').on('one_stop_assessment').columns(['case_ref', 'assessed_at']).execute();
  await db.schema
    .createTable('one_stop_referral_on')
    .addColumn('referral_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('purpose', 'integer', (c) => c.notNull())
    .addColumn('partner_id', 'text')
    .addColumn('consent_id', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('one_stop_referral_on_case_idx').on('one_stop_referral_on').column('case_ref').execute();
}
