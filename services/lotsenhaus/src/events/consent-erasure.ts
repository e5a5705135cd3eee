// A consent withdrawn at its owner, and the recipients' confirmations that they erased what they
// received under it (Art. 17, 19 GDPR).
import { lockAuditChain } from '@lotse/audit';
import { events, eventTypeOf, type envelope } from '@lotse/contracts';
import { rewriteOutboxPayloads } from '@lotse/messaging';
import type { AgencyContext } from '@lotse/runtime';
import { auditRoutingFactsErased, eraseAssessmentsUnderConsent } from '../data-protection/audit-routing.js';
import { hubRepository as repo } from '../db/hub-repository.js';
import type { HubDb } from '../db/schema.js';
import { decideConsentWithdrawal, decideErasureConfirmation } from '../domain/consent-decider.js';
import { carryOut, type Trx } from './carry-out.js';

/**
 * The hub's outbox keeps every event it produced, the routing events with the age group among
 * them; after a withdrawal those of the consent's referrals keep the event, not the age group.
 */
function dropAgeGroupFromRoutings(trx: Trx, caseRef: string, referralIds: ReadonlySet<string>) {
  return rewriteOutboxPayloads(trx, { caseRef, eventType: eventTypeOf(events.ReferralRouted) }, (payload) => {
    const routed = events.ReferralRouted.decode(payload);
    if (!referralIds.has(routed.referralId) || routed.ageGroup === 0) return undefined;
    return events.ReferralRouted.encode({ ...routed, ageGroup: 0 }).finish();
  });
}

export function consentHandlers(rt: AgencyContext<HubDb>) {
  return {
    async ConsentWithdrawn(trx: Trx, msg: events.ConsentWithdrawn, env: envelope.Envelope) {
      await lockAuditChain(trx);
      const alreadyKnown = await repo.consentWithdrawn(trx, msg.consentId);
      const referrals = alreadyKnown ? [] : await repo.underConsent(trx, msg.consentId);
      const now = rt.now();
      const d = decideConsentWithdrawal({ msg, env, now, alreadyKnown, referrals }, rt.agencyId);
      if (d.refused) return;
      await repo.recordWithdrawal(trx, { consentId: msg.consentId, caseRef: msg.caseRef, ownerAgencyId: env.producerAgencyId, receivedByAgencyId: msg.receivedByAgencyId, withdrawnAt: msg.withdrawnAt ?? now });
      // The one-stop desk (this deployment) erases its competence assessments under the consent too.
      await eraseAssessmentsUnderConsent(rt, trx, { consentId: msg.consentId, caseRef: msg.caseRef });
      await carryOut(rt, trx, d, referrals);
      if (d.erased) {
        await dropAgeGroupFromRoutings(trx, msg.caseRef, new Set(d.erased.referralIds));
        await auditRoutingFactsErased(rt, trx, { consentId: msg.consentId, caseRef: msg.caseRef, ownerAgencyId: env.producerAgencyId, referrals: d.erased.referralIds.length, categories: d.erased.categories });
        await repo.requestErasure(trx, { consentId: msg.consentId, recipient: rt.agencyId, caseRef: msg.caseRef, at: now, confirmedAt: now, erased: d.erased.categories });
      }
      for (const recipient of d.askedToErase) await repo.requestErasure(trx, { consentId: msg.consentId, recipient, caseRef: msg.caseRef, at: now });
    },

    /** A recipient confirms it erased what it received under a withdrawn consent (Art. 19 GDPR). */
    async ErasureConfirmed(trx: Trx, msg: events.ErasureConfirmed, env: envelope.Envelope) {
      const own = msg.agency === env.producerAgencyId;
      const request = own ? await repo.erasureRequest(trx, msg.consentId, env.producerAgencyId) : undefined;
      const firstReferralId = request && !request.confirmed_at ? await repo.firstReferralUnderConsent(trx, msg.consentId) : undefined;
      const d = decideErasureConfirmation({ msg, env, now: rt.now(), request, firstReferralId });
      if (d.confirmation) await repo.confirmErasure(trx, msg.consentId, env.producerAgencyId, d.confirmation);
      await carryOut(rt, trx, d, [], { producer: env.producerAgencyId, ...(own ? { consent_id: msg.consentId } : { agency: msg.agency }) });
    },
  };
}
