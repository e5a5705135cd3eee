import { addReferralWorkflow } from '@lotse/referrals';
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await addReferralWorkflow(db, 'intake_referral');
}
