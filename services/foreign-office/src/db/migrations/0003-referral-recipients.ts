import { sql, type Kysely } from 'kysely';

// Where each referral of this office's newcomers is, as the hub reports it: the office's own
// referrals and the onward ones other agencies made under its consents. Disclosure checks a
// caller against this record, not against the caller's word.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('referral_recipient')
    .addColumn('referral_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('referrer_agency_id', 'text', (c) => c.notNull())
    // The deployment the referral is with now ('' while none: requested, unroutable).
    .addColumn('recipient_agency_id', 'text', (c) => c.notNull())
    .addColumn('purpose', 'integer', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('referral_recipient_case_idx').on('referral_recipient').columns(['case_ref', 'recipient_agency_id']).execute();
  // The office's own referrals so far; onward referrals made before this are not known here.
  await sql`
    insert into referral_recipient (referral_id, case_ref, referrer_agency_id, recipient_agency_id, purpose, status, updated_at)
    select referral_id, case_ref, '', coalesce(provider_id, ''), purpose, status, updated_at from referral`.execute(db);
}
