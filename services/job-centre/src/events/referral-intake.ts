import { common, events, isReferralStatusAdvance, jobCentre, type envelope } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { JobCentreDb } from '../db/schema.js';

const { Purpose, DeclineReason } = common;
const { IntakeStatus } = jobCentre;

/** What a job centre takes referrals for; anything else the hub routed here is declined at once. */
export const servedPurposes: readonly common.Purpose[] = [
  Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
  Purpose.PURPOSE_LANGUAGE_COURSE,
  // From the Lotsenhaus (agreement job centre ↔ Lotsenhaus): assessment results, placement.
  Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
  Purpose.PURPOSE_JOB_PLACEMENT,
];

/** A referral the hub routed here lands in the intake as pending; the hub hears that it arrived. */
export function referralIntake(rt: AgencyContext<JobCentreDb>) {
  return {
    async ReferralRouted(trx: Transaction<JobCentreDb>, msg: events.ReferralRouted, _env: envelope.Envelope) {
      if (msg.providerId !== rt.agencyId) throw new Error(`referral ${msg.referralId} was routed to ${msg.providerId}, not to ${rt.agencyId}`);
      const served = servedPurposes.includes(msg.purpose);
      const now = rt.now();
      const inserted = await trx
        .insertInto('intake_referral')
        .values({
          referral_id: msg.referralId,
          case_ref: msg.caseRef,
          referrer_agency_id: msg.referrerAgencyId,
          purpose: msg.purpose,
          age_group: msg.ageGroup,
          consent_id: msg.consentId,
          status: served ? IntakeStatus.INTAKE_STATUS_PENDING : IntakeStatus.INTAKE_STATUS_DECLINED,
          decline_reason: served ? 0 : DeclineReason.DECLINE_REASON_TARGET_GROUP_NOT_COVERED,
          decided_at: served ? null : now,
          owner_agency_id: msg.ownerAgencyId,
        })
        .onConflict((oc) => oc.column('referral_id').doNothing())
        .returning('referral_id')
        .executeTakeFirst();
      if (!inserted) return;
      await rt.publish(trx, events.ReferralReceived, 'ReferralReceived', { referralId: msg.referralId, caseRef: msg.caseRef, providerId: rt.agencyId }, msg.caseRef);
      if (!served) {
        // Routing a purpose the job centre does not serve is the hub's mistake; declining lets it re-route.
        rt.logger.warn({ referral_id: msg.referralId, purpose: common.purposeToJSON(msg.purpose) }, 'referral for a purpose this job centre does not serve; declined');
        await rt.publish(
          trx,
          events.ReferralDeclined,
          'ReferralDeclined',
          { referralId: msg.referralId, caseRef: msg.caseRef, providerId: rt.agencyId, reason: DeclineReason.DECLINE_REASON_TARGET_GROUP_NOT_COVERED, declinedAt: now },
          msg.caseRef,
        );
      }
    },

    /** The referrer withdrew the referral (consent_id empty), or its consent was withdrawn: closed here. */
    async ReferralWithdrawn(trx: Transaction<JobCentreDb>, msg: events.ReferralWithdrawn, _env: envelope.Envelope) {
      if (msg.providerId !== rt.agencyId) return;
      await trx
        .updateTable('intake_referral')
        .set({ status: IntakeStatus.INTAKE_STATUS_WITHDRAWN, decided_at: msg.withdrawnAt ?? rt.now() })
        .where('referral_id', '=', msg.referralId)
        .where('status', 'in', [IntakeStatus.INTAKE_STATUS_PENDING, IntakeStatus.INTAKE_STATUS_ACCEPTED])
        .execute();
    },

    /** Where a referral this job centre requested stands, as the hub reports it. */
    async ReferralStatusChanged(trx: Transaction<JobCentreDb>, msg: events.ReferralStatusChanged, _env: envelope.Envelope) {
      const row = await trx.selectFrom('outgoing_referral').select(['status']).where('referral_id', '=', msg.referralId).forUpdate().executeTakeFirst();
      if (!row) return;
      const reroute = row.status === msg.status && msg.status === common.ReferralStatus.REFERRAL_STATUS_PENDING;
      if (!reroute && !isReferralStatusAdvance(row.status, msg.status)) return;
      await trx.updateTable('outgoing_referral').set({ status: msg.status, provider_id: msg.providerId || null, updated_at: rt.now() }).where('referral_id', '=', msg.referralId).execute();
    },
  };
}
