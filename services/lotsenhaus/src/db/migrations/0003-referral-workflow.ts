import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // One workflow for every pair of agency types an agreement connects: typed, re-routed after a
  // decline (never to a provider that declined), withdrawn by the referrer, completed with an
  // outcome, escalated when not answered in time.
  await db.schema
    .alterTable('hub_referral')
    .addColumn('type', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('sender_type', 'text', (c) => c.notNull().defaultTo('foreign-office'))
    .addColumn('recipient_type', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('owner_agency_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('declined_by', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('outcome', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('escalated_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('hub_referral_expiry_idx').on('hub_referral').columns(['status', 'expires_at']).execute();
  await db.schema.alterTable('case_index').addColumn('escalated', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
  await db.schema.createIndex('case_index_updated_idx').on('case_index').columns(['updated_at']).execute();
  // The latest capacity each provider published, per kind.
  await db.schema
    .createTable('provider_capacity')
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'integer', (c) => c.notNull())
    .addColumn('free', 'integer', (c) => c.notNull())
    .addColumn('changed_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('provider_capacity_pk', ['provider_id', 'kind'])
    .execute();
}
