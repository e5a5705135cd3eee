import { events, migrationServices, type envelope } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { MigrationServicesDb } from '../db/schema.js';
import { eraseUnderConsent } from '../domain/erasure.js';

type Trx = Transaction<MigrationServicesDb>;

/** The hub's withdrawal events: stop processing, erase, and confirm (Art. 17, 19 GDPR). */
export function erasureRequests(rt: AgencyContext<MigrationServicesDb>) {
  return {
    /** A pending referral was closed because its consent was withdrawn. */
    async ReferralWithdrawn(trx: Trx, msg: events.ReferralWithdrawn, env: envelope.Envelope) {
      if (msg.providerId !== rt.agencyId) {
        rt.logger.warn({ referral_id: msg.referralId, provider: msg.providerId }, 'withdrawal addressed to another provider; ignored');
        return;
      }
      if (!msg.consentId) {
        // The referrer withdrew the referral (not the consent): closed here, nothing to erase.
        await trx
          .updateTable('inbox_referral')
          .set({ status: migrationServices.InboxStatus.INBOX_STATUS_WITHDRAWN, decided_at: msg.withdrawnAt ?? rt.now() })
          .where('referral_id', '=', msg.referralId)
          .where('status', 'in', [migrationServices.InboxStatus.INBOX_STATUS_PENDING, migrationServices.InboxStatus.INBOX_STATUS_ACCEPTED])
          .execute();
        return;
      }
      const referral = await trx.selectFrom('inbox_referral').select(['referrer_agency_id']).where('referral_id', '=', msg.referralId).executeTakeFirst();
      await eraseUnderConsent(rt, trx, { consentId: msg.consentId, caseRef: msg.caseRef, ownerAgencyId: referral?.referrer_agency_id ?? env.producerAgencyId });
    },

    async ErasureRequested(trx: Trx, msg: events.ErasureRequested, _env: envelope.Envelope) {
      if (msg.recipient !== rt.agencyId) {
        rt.logger.warn({ consent_id: msg.consentId, recipient: msg.recipient }, 'erasure request addressed to another agency; ignored');
        return;
      }
      const outcome = await eraseUnderConsent(rt, trx, { consentId: msg.consentId, caseRef: msg.caseRef, ownerAgencyId: msg.ownerAgencyId });
      const now = rt.now();
      await trx.updateTable('erasure').set({ requested_at: msg.requestedAt ?? now, confirmed_at: now }).where('consent_id', '=', msg.consentId).execute();
      await rt.publish(
        trx,
        events.ErasureConfirmed,
        'ErasureConfirmed',
        { consentId: msg.consentId, caseRef: msg.caseRef, agency: rt.agencyId, erasedCategories: outcome.erasedCategories, retained: outcome.retained, confirmedAt: now },
        msg.caseRef,
      );
    },
  };
}
