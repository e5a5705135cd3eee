import { nameReceivedReferralTable } from '@lotse/referrals';
import type { Kysely } from 'kysely';

// The provider's inbox takes the name every recipient's has (issue "the house": one name for a
// referral as a recipient sees it).
export async function up(db: Kysely<any>): Promise<void> {
  await nameReceivedReferralTable(db, 'inbox_referral', ['status_idx', 'consent_idx']);
}
