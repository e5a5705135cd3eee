import { sql, type CreateTableBuilder, type Kysely } from 'kysely';

// The receiving and referring side's tables, built by this module. A service runs these steps in
// its own migrations, under the ids it has always had: databases made before this module owned
// the tables keep their applied ids and get the very same schema. The inbox was first made under
// the service's own name (inbox_referral, intake_referral); `nameReceivedReferralTable` gives it the
// one name every recipient uses, `received_referral`, in a migration of its own.

/**
 * A service's inbox of the referrals the hub routes to it, with the columns of the first
 * workflow; `own` adds the service's columns. Then `addReferralWorkflow` brings it up to date.
 */
export async function createReceivedReferralTable(db: Kysely<any>, table: string, own: (t: CreateTableBuilder<string, string>) => CreateTableBuilder<string, string> = (t) => t): Promise<void> {
  const base = db.schema
    .createTable(table)
    .addColumn('referral_id', 'text', (c) => c.primaryKey())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('referrer_agency_id', 'text', (c) => c.notNull())
    .addColumn('purpose', 'integer', (c) => c.notNull())
    .addColumn('age_group', 'integer', (c) => c.notNull())
    .addColumn('consent_id', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('decline_reason', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz');
  await own(base).execute();
  await db.schema.createIndex(`${table}_status_idx`).on(table).columns(['status', 'referral_id']).execute();
}

/** The copies of newcomers' data received under consent, one per referral of the inbox table. */
export async function createNewcomerRecordTable(db: Kysely<any>, inboxTable: string): Promise<void> {
  await db.schema
    .createTable('newcomer_record')
    .addColumn('referral_id', 'text', (c) => c.primaryKey().references(`${inboxTable}.referral_id`))
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

/**
 * The referral workflow: a received referral gains its coded outcome and the owner the hub names,
 * and the agency keeps the referrals it requests (referring on) as the hub reports them.
 */
export async function addReferralWorkflow(db: Kysely<any>, inboxTable: string): Promise<void> {
  await db.schema
    .alterTable(inboxTable)
    .addColumn('outcome', 'integer', (c) => c.notNull().defaultTo(0))
    // Whom to fetch the newcomer's data from (the hub names it); the referrer when empty.
    .addColumn('owner_agency_id', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
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

/** Erasure finds the copies received under a withdrawn consent by the consent. */
export async function indexReceivedDataByConsent(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('newcomer_record_consent_idx').on('newcomer_record').column('consent_id').execute();
}

/** The name every recipient's inbox has: what a referral is as the agency it was routed to sees it. */
export const RECEIVED_REFERRAL_TABLE = 'received_referral';

/**
 * Renames a service's inbox (created as `inbox_referral` or `intake_referral`) and its indexes to
 * `received_referral…`. A rename keeps rows, keys and the foreign key of `newcomer_record`.
 */
export async function nameReceivedReferralTable(db: Kysely<any>, from: string, indexSuffixes: string[]): Promise<void> {
  await db.schema.alterTable(from).renameTo(RECEIVED_REFERRAL_TABLE).execute();
  for (const suffix of indexSuffixes) await sql`ALTER INDEX ${sql.id(`${from}_${suffix}`)} RENAME TO ${sql.id(`${RECEIVED_REFERRAL_TABLE}_${suffix}`)}`.execute(db);
}
