import type { Kysely } from 'kysely';

// Lookups by case and by referral that were answered by scanning: a provider's answer found its
// referral among all of that provider's referrals (3 ms at 5,000 referrals, growing with every
// case), and a withdrawal rewrote timeline summaries by scanning the whole timeline.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('hub_referral_case_idx').ifNotExists().on('hub_referral').columns(['case_ref', 'provider_id']).execute();
  await db.schema.createIndex('timeline_entry_referral_idx').ifNotExists().on('timeline_entry').columns(['referral_id', 'event_type']).execute();
}
