import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // One row per withdrawn consent: where the newcomer withdrew, and the position in the access
  // log at which it took effect. The position comes from the log's own sequence, taken while the
  // consent row is locked: every granted disclosure under the consent has a smaller id.
  await db.schema
    .createTable('consent_withdrawal')
    .addColumn('consent_id', 'text', (c) => c.primaryKey().references('consent.consent_id'))
    .addColumn('received_by_agency_id', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('withdrawn_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recipients_known', sql`text[]`, (c) => c.notNull())
    .addColumn('access_log_position', 'bigint', (c) => c.notNull().defaultTo(sql`nextval('data_access_log_id_seq')`))
    .execute();
  // Which row of the flow table a disclosure was checked against.
  await db.schema.alterTable('data_access_log').addColumn('flow_id', 'text').execute();
  await db.schema.createIndex('referral_consent_idx').on('referral').column('consent_id').execute();
  await db.schema.createIndex('data_access_log_basis_idx').on('data_access_log').column('legal_basis').execute();
}
