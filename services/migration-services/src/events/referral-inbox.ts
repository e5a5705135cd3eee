import { migrationServices, type envelope, type events } from '@lotse/contracts';
import { referralInbox } from '@lotse/referrals';
import type { AgencyContext } from '@lotse/runtime';
import type { Selectable, Transaction } from 'kysely';
import type { InboxReferralTable, MigrationServicesDb } from '../db/schema.js';
import { eraseUnderConsent } from '../domain/erasure.js';

const { InboxStatus: S } = migrationServices;

/**
 * The provider's referral inbox: the shared workflow on its table received_referral. What is its own:
 * a routing overtaken by the withdrawal of its consent is kept closed, and a withdrawn consent
 * erases what was received under it (Art. 17 GDPR).
 */
export function providerInbox(rt: AgencyContext<MigrationServicesDb>) {
  return referralInbox<MigrationServicesDb, Selectable<InboxReferralTable>>(rt, {
    table: 'received_referral',
    statuses: { pending: S.INBOX_STATUS_PENDING, accepted: S.INBOX_STATUS_ACCEPTED, declined: S.INBOX_STATUS_DECLINED, withdrawn: S.INBOX_STATUS_WITHDRAWN, completed: S.INBOX_STATUS_COMPLETED, name: migrationServices.inboxStatusToJSON },
    async withdrawnBeforeArrival(trx, msg) {
      return (await trx.selectFrom('erasure').select('consent_id').where('consent_id', '=', msg.consentId).executeTakeFirst()) !== undefined;
    },
    async consentWithdrawn(trx: Transaction<MigrationServicesDb>, msg: events.ReferralWithdrawn, env: envelope.Envelope) {
      const referral = await trx.selectFrom('received_referral').select(['referrer_agency_id']).where('referral_id', '=', msg.referralId).executeTakeFirst();
      await eraseUnderConsent(rt, trx, { consentId: msg.consentId, caseRef: msg.caseRef, ownerAgencyId: referral?.referrer_agency_id ?? env.producerAgencyId });
    },
  });
}
