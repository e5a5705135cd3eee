import { events, migrationServices, type envelope } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { MigrationServicesDb } from '../db/schema.js';

/** A referral the hub routed here lands in the inbox as pending; the hub hears that it arrived. */
export function referralInbox(rt: AgencyContext<MigrationServicesDb>) {
  return {
    async ReferralRouted(trx: Transaction<MigrationServicesDb>, msg: events.ReferralRouted, _env: envelope.Envelope) {
      if (msg.providerId !== rt.agencyId) throw new Error(`referral ${msg.referralId} was routed to ${msg.providerId}, not to ${rt.agencyId}`);
      const inserted = await trx
        .insertInto('inbox_referral')
        .values({
          referral_id: msg.referralId,
          case_ref: msg.caseRef,
          referrer_agency_id: msg.referrerAgencyId,
          purpose: msg.purpose,
          age_group: msg.ageGroup,
          consent_id: msg.consentId,
          status: migrationServices.InboxStatus.INBOX_STATUS_PENDING,
          decline_reason: 0,
          decided_at: null,
          first_contact_date: null,
          contact_channel: 0,
          interpreter_used: false,
        })
        .onConflict((oc) => oc.column('referral_id').doNothing())
        .returning('referral_id')
        .executeTakeFirst();
      if (!inserted) return;
      await rt.publish(trx, events.ReferralReceived, 'ReferralReceived', { referralId: msg.referralId, caseRef: msg.caseRef, providerId: rt.agencyId }, msg.caseRef);
    },
  };
}
