import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('inbox_referral')
    .addColumn('outcome', 'integer', (c) => c.notNull().defaultTo(0))
    // Whom to fetch the newcomer's data from (the hub names it); the referrer when empty.
    .addColumn('owner_agency_id', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  // Referrals this provider requested (referring on), as the hub reports them.
  await db.schema
    .createTable('outgoing_referral')
    .addColumn('referral_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('source_referral_id', 'text', (c) => c.notNull())
    .addColumn('consent_id', 'text', (c) => c.notNull())
    .addColumn('purpose', 'integer', (c) => c.notNull())
    .addColumn('type', 'integer', (c) => c.notNull())
    .addColumn('recipient_type', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('provider_id', 'text')
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}
