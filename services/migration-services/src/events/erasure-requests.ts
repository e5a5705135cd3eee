import { events, type envelope } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { MigrationServicesDb } from '../db/schema.js';
import { eraseUnderConsent } from '../domain/erasure.js';

type Trx = Transaction<MigrationServicesDb>;

/**
 * The hub's erasure requests: stop processing, erase, and confirm (Art. 17, 19 GDPR). A withdrawn
 * referral's consent is erased by the referral inbox (providerInbox).
 */
export function erasureRequests(rt: AgencyContext<MigrationServicesDb>) {
  return {
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
        { consentId: msg.consentId, caseRef: msg.caseRef, agency: rt.agencyId, erasedCategories: outcome.erasedCategories, retained: outcome.retained, confirmedAt: now },
        msg.caseRef,
      );
    },
  };
}
