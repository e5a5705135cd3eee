import { common, events, type envelope } from '@lotse/contracts';
import { channel, requireFlow } from '@lotse/flows';
import { FailedPreconditionError, NotFoundError, setCaseRef } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { workflowDb, type OutgoingReferralRow, type ReceivedReferralRow } from './tables.js';
import { takesReportedStatus, withdrawalProblem } from './transitions.js';

export interface ReferOn {
  purpose: common.Purpose;
  type: common.ReferralType;
  recipientType: string;
}

/**
 * The referrer's side of the referral workflow: referring a case on from a referral received here,
 * withdrawing such a referral, and following where the hub reports it stands.
 */
export function outgoingReferrals<DB>(rt: AgencyContext<DB>) {
  return {
    /** Records the referral and asks the hub to route it; the newcomer's data stays with its owner. */
    async request(trx: Transaction<DB>, source: ReceivedReferralRow, referOn: ReferOn, ownerAgencyId: string): Promise<OutgoingReferralRow> {
      // Pseudonymous: the hub has the routing facts and the consent's recipients already.
      requireFlow({ sender: rt.agencyType, recipient: 'lotsenhaus', channel: channel.event('ReferralRequested'), purpose: referOn.purpose, categories: [] });
      const referralId = uuidv7();
      const now = rt.now();
      const row = await workflowDb(trx)
        .insertInto('outgoing_referral')
        .values({
          referral_id: referralId,
          case_ref: source.case_ref,
          source_referral_id: source.referral_id,
          consent_id: source.consent_id,
          purpose: referOn.purpose,
          type: referOn.type,
          recipient_type: referOn.recipientType,
          status: common.ReferralStatus.REFERRAL_STATUS_REQUESTED,
          requested_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await rt.publish(
        trx,
        events.ReferralRequested,
        events.ReferralRequested.fromPartial({
          referralId,
          caseRef: source.case_ref,
          referrerAgencyId: rt.agencyId,
          purpose: referOn.purpose,
          consentId: source.consent_id,
          requestedAt: now,
          type: referOn.type,
          recipientType: referOn.recipientType,
          ownerAgencyId,
          sourceReferralId: source.referral_id,
        }),
        source.case_ref,
      );
      return row;
    },

    /** The referrer withdraws its referral while it is still open; the hub closes it at the recipient. */
    async withdraw(trx: Transaction<DB>, referralId: string): Promise<OutgoingReferralRow> {
      const db = workflowDb(trx);
      const row = await db.selectFrom('outgoing_referral').selectAll().where('referral_id', '=', referralId).forUpdate().executeTakeFirst();
      if (!row) throw new NotFoundError('referral_id', referralId);
      setCaseRef(row.case_ref);
      const problem = withdrawalProblem(referralId, row.status);
      if (problem) throw new FailedPreconditionError(problem);
      const now = rt.now();
      const updated = await db
        .updateTable('outgoing_referral')
        .set({ status: common.ReferralStatus.REFERRAL_STATUS_WITHDRAWN, updated_at: now })
        .where('referral_id', '=', referralId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await rt.publish(trx, events.ReferralWithdrawnByReferrer, { referralId, caseRef: row.case_ref, referrerAgencyId: rt.agencyId, withdrawnAt: now }, row.case_ref);
      return updated;
    },

    /** Where a referral this agency requested stands, as the hub reports it. */
    async ReferralStatusChanged(trx: Transaction<DB>, msg: events.ReferralStatusChanged, _env: envelope.Envelope): Promise<void> {
      const db = workflowDb(trx);
      const row = await db.selectFrom('outgoing_referral').select(['status', 'provider_id']).where('referral_id', '=', msg.referralId).forUpdate().executeTakeFirst();
      if (!row || !takesReportedStatus({ status: row.status, providerId: row.provider_id }, msg)) return;
      await db
        .updateTable('outgoing_referral')
        .set({ status: msg.status, provider_id: msg.providerId || null, updated_at: rt.now() })
        .where('referral_id', '=', msg.referralId)
        .execute();
    },
  };
}
