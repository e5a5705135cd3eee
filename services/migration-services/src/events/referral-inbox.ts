import { common, events, isReferralStatusAdvance, migrationServices, type envelope } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { MigrationServicesDb } from '../db/schema.js';

/** A referral the hub routed here lands in the inbox as pending; the hub hears that it arrived. */
export function referralInbox(rt: AgencyContext<MigrationServicesDb>) {
  return {
    async ReferralRouted(trx: Transaction<MigrationServicesDb>, msg: events.ReferralRouted, _env: envelope.Envelope) {
      if (msg.providerId !== rt.agencyId) throw new Error(`referral ${msg.referralId} was routed to ${msg.providerId}, not to ${rt.agencyId}`);
      // Overtaken by the withdrawal of its consent (a redelivery): kept closed, without its routing fact.
      const erased = await trx.selectFrom('erasure').select('consent_id').where('consent_id', '=', msg.consentId).executeTakeFirst();
      const inserted = await trx
        .insertInto('inbox_referral')
        .values({
          referral_id: msg.referralId,
          case_ref: msg.caseRef,
          referrer_agency_id: msg.referrerAgencyId,
          purpose: msg.purpose,
          age_group: erased ? 0 : msg.ageGroup,
          consent_id: msg.consentId,
          status: erased ? migrationServices.InboxStatus.INBOX_STATUS_WITHDRAWN : migrationServices.InboxStatus.INBOX_STATUS_PENDING,
          decline_reason: 0,
          decided_at: null,
          first_contact_date: null,
          contact_channel: 0,
          interpreter_used: false,
          owner_agency_id: msg.ownerAgencyId,
        })
        .onConflict((oc) => oc.column('referral_id').doNothing())
        .returning('referral_id')
        .executeTakeFirst();
      if (!inserted || erased) return;
      await rt.publish(trx, events.ReferralReceived, 'ReferralReceived', { referralId: msg.referralId, caseRef: msg.caseRef, providerId: rt.agencyId }, msg.caseRef);
    },

    /** Where a referral this provider requested stands, as the hub reports it. */
    async ReferralStatusChanged(trx: Transaction<MigrationServicesDb>, msg: events.ReferralStatusChanged, _env: envelope.Envelope) {
      const row = await trx.selectFrom('outgoing_referral').select(['status']).where('referral_id', '=', msg.referralId).forUpdate().executeTakeFirst();
      if (!row) return;
      const reroute = row.status === msg.status && msg.status === common.ReferralStatus.REFERRAL_STATUS_PENDING;
      if (!reroute && !isReferralStatusAdvance(row.status, msg.status)) return;
      await trx
        .updateTable('outgoing_referral')
        .set({ status: msg.status, provider_id: msg.providerId || null, updated_at: rt.now() })
        .where('referral_id', '=', msg.referralId)
        .execute();
    },
  };
}
