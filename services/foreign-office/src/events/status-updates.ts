import type { events } from '@lotse/contracts';
import { takesReportedStatus } from '@lotse/referrals';
import type { Transaction } from 'kysely';
import type { ForeignOfficeDb } from '../db/schema.js';


/**
 * The hub reports where a referral stands: the office keeps the latest status of its own
 * referrals, and of every referral (its own and onward ones) which agency it is with — each
 * moving only as the referrers' one re-route rule lets it (takesReportedStatus).
 */
export async function applyStatusChange(trx: Transaction<ForeignOfficeDb>, change: events.ReferralStatusChanged): Promise<void> {
  const changedAt = change.changedAt ?? new Date();
  const referral = await trx.selectFrom('referral').select(['status', 'provider_id', 'purpose', 'case_ref']).where('referral_id', '=', change.referralId).executeTakeFirst();
  if (referral && takesReportedStatus({ status: referral.status, providerId: referral.provider_id }, change)) {
    await trx
      .updateTable('referral')
      .set({ status: change.status, provider_id: change.providerId || null, decline_reason: change.declineReason, updated_at: changedAt })
      .where('referral_id', '=', change.referralId)
      .execute();
  }
  const purpose = referral?.purpose ?? change.purpose;
  // An onward referral of a case that is not this office's, or without a purpose: nothing to follow.
  if (!referral && (!purpose || !(await trx.selectFrom('newcomer').select('case_ref').where('case_ref', '=', change.caseRef).executeTakeFirst()))) return;
  const known = await trx.selectFrom('referral_recipient').select(['status', 'recipient_agency_id']).where('referral_id', '=', change.referralId).forUpdate().executeTakeFirst();
  if (known && !takesReportedStatus({ status: known.status, providerId: known.recipient_agency_id }, change)) return;
  const values = { status: change.status, recipient_agency_id: change.providerId, updated_at: changedAt };
  await trx
    .insertInto('referral_recipient')
    .values({ referral_id: change.referralId, case_ref: referral?.case_ref ?? change.caseRef, referrer_agency_id: change.referrerAgencyId, purpose, ...values })
    .onConflict((oc) => oc.column('referral_id').doUpdateSet(values))
    .execute();
}
