import { nameReceivedReferralTable } from '@lotse/referrals';
import type { Kysely } from 'kysely';

// The job centre's intake takes the name every recipient's inbox has (one name for a referral as
// a recipient sees it).
export async function up(db: Kysely<any>): Promise<void> {
  await nameReceivedReferralTable(db, 'intake_referral', ['status_idx']);
}
