import { common, events } from '@lotse/contracts';
import type { Transaction } from 'kysely';
import type { ForeignOfficeDb } from '../db/schema.js';
import { isReferralStatusAdvance as isAdvance } from '@lotse/contracts';

/** The hub reports where a referral stands; the foreign office keeps the latest status. */
export async function applyStatusChange(trx: Transaction<ForeignOfficeDb>, change: events.ReferralStatusChanged): Promise<void> {
  const referral = await trx.selectFrom('referral').select(['status', 'provider_id']).where('referral_id', '=', change.referralId).executeTakeFirst();
  if (!referral) return;
  // Forward only (a closed referral stays closed) — except that a referral still pending may be
  // re-routed by the hub after a decline: same status, another provider.
  const rerouted =
    change.status === common.ReferralStatus.REFERRAL_STATUS_PENDING &&
    referral.status === change.status &&
    change.providerId !== '' &&
    change.providerId !== referral.provider_id;
  if (!rerouted && !isAdvance(referral.status, change.status)) return;
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
