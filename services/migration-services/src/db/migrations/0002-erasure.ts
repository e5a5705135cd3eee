import { indexReceivedDataByConsent } from '@lotse/referrals';
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // What this provider erased (or kept under a statute) when a consent was withdrawn, and when it
  // confirmed that to the hub. Pseudonymous: consent id, case reference, category codes.
  await db.schema
    .createTable('erasure')
    .addColumn('consent_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('owner_agency_id', 'text', (c) => c.notNull())
    .addColumn('erased_categories', sql`integer[]`, (c) => c.notNull())
    .addColumn('retained', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('erased_at', 'timestamptz', (c) => c.notNull())
    // The newcomer withdrew at this provider (passed on to the owner).
    .addColumn('withdrawal_taken_here', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('requested_at', 'timestamptz')
    .addColumn('confirmed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('inbox_referral_consent_idx').on('inbox_referral').column('consent_id').execute();
  await indexReceivedDataByConsent(db);
}
