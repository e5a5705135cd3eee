import { common, events } from '@lotse/contracts';
import type { Transaction } from 'kysely';
import type { ForeignOfficeDb } from '../db/schema.js';
import { isReferralStatusAdvance as isAdvance } from '@lotse/contracts';

/** The hub reports where a referral stands; the foreign office keeps the latest status. */
export async function applyStatusChange(trx: Transaction<ForeignOfficeDb>, change: events.ReferralStatusChanged): Promise<void> {
  const referral = await trx.selectFrom('referral').select(['status']).where('referral_id', '=', change.referralId).executeTakeFirst();
  // A withdrawn referral is closed for good: no later status from the hub reopens it.
  if (!referral || referral.status === common.ReferralStatus.REFERRAL_STATUS_WITHDRAWN || !isAdvance(referral.status, change.status)) return;
  await trx
    .updateTable('referral')
    .set({
      status: change.status,
      provider_id: change.providerId || null,
      decline_reason: change.declineReason,
      updated_at: change.changedAt ?? new Date(),
    })
    .where('referral_id', '=', change.referralId)
    .execute();
}
