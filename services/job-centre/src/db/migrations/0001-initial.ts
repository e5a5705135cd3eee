import { createNewcomerRecordTable, createReceivedReferralTable } from '@lotse/referrals';
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The receiving side's tables, as the referrals module builds them.
  await createReceivedReferralTable(db, 'intake_referral');
  await createNewcomerRecordTable(db, 'intake_referral');

  await db.schema
    .createTable('customer')
    .addColumn('customer_id', 'text', (c) => c.primaryKey())
    .addColumn('referral_id', 'text', (c) => c.notNull().unique().references('intake_referral.referral_id'))
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('customer_number', 'text', (c) => c.notNull())
    .addColumn('bg_number', 'text')
    .addColumn('benefits_start', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('registered_at', 'timestamptz', (c) => c.notNull())
    .addColumn('outcome', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('closed_on', 'text')
    .addColumn('closed_at', 'timestamptz')
    .execute();
  // One open job centre case per newcomer and per customer number; a person keeps the number when
  // a closed case is followed by a new registration.
  await sql`create unique index customer_open_case_idx on customer (case_ref) where status = 1`.execute(db);
  await sql`create unique index customer_open_number_idx on customer (customer_number) where status = 1`.execute(db);
  await db.schema.createIndex('customer_status_idx').on('customer').columns(['status', 'customer_id']).execute();

  await db.schema
    .createTable('language_course_funding')
    .addColumn('decision_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customer.customer_id'))
    .addColumn('assessed_level', 'integer', (c) => c.notNull())
    .addColumn('target_level', 'integer', (c) => c.notNull())
    .addColumn('decision', 'integer', (c) => c.notNull())
    .addColumn('refusal_reason', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('course_start', 'text')
    .addColumn('decided_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('language_course_funding_customer_idx').on('language_course_funding').column('customer_id').execute();

  await db.schema
    .createTable('cooperation_plan')
    .addColumn('plan_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customer.customer_id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('plan_date', 'text', (c) => c.notNull())
    .addColumn('goals', sql`text[]`, (c) => c.notNull())
    .addColumn('agreed_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('cooperation_plan_version_uq', ['customer_id', 'version'])
    .execute();
  await db.schema
    .createTable('cooperation_plan_step')
    .addColumn('plan_id', 'text', (c) => c.notNull().references('cooperation_plan.plan_id'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('due_date', 'text', (c) => c.notNull())
    .addColumn('responsible', 'integer', (c) => c.notNull())
    .addColumn('partner_agency_id', 'text')
    .addPrimaryKeyConstraint('cooperation_plan_step_pk', ['plan_id', 'position'])
    .execute();

  await db.schema
    .createTable('placement')
    .addColumn('placement_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customer.customer_id'))
    .addColumn('type', 'integer', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('start_date', 'text', (c) => c.notNull())
    .addColumn('end_date', 'text')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('placement_customer_idx').on('placement').column('customer_id').execute();
}
