import { common, type events } from '@lotse/contracts';
import { appendAudit, systemActor } from '@lotse/audit';

import type { Transaction } from '@lotse/db';
import type { AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';

/**
 * The hub holds no personal data beyond the two routing facts; a routing decision reads them
 * (municipality, age group), so each decision is on record in the hub's audit log.
 */
export async function auditRoutingDecision(rt: AgencyContext<HubDb>, trx: Transaction<HubDb>, msg: events.ReferralRequested, providerId: string | null): Promise<void> {
  await appendAudit(trx, {
    ...systemActor(rt.agencyId),
    action: 'read',
    subjectRef: msg.caseRef,
    categories: [common.DataCategory.DATA_CATEGORY_MUNICIPALITY, common.DataCategory.DATA_CATEGORY_AGE_GROUP],
    purpose: msg.purpose,
    legalBasis: `consent:${msg.consentId}`,
    details: { referral_id: msg.referralId, owner_agency_id: msg.referrerAgencyId, routed_to: providerId ?? 'unroutable' },
    at: rt.now(),
  });
}

/** The hub erased its routing facts after a consent was withdrawn (Art. 17(1)(b) GDPR). */
export async function auditRoutingFactsErased(
  rt: AgencyContext<HubDb>,
  trx: Transaction<HubDb>,
  erasure: { consentId: string; caseRef: string; ownerAgencyId: string; referrals: number },
): Promise<void> {
  await appendAudit(trx, {
    ...systemActor(rt.agencyId),
    action: 'erase',
    subjectRef: erasure.caseRef,
    categories: [common.DataCategory.DATA_CATEGORY_MUNICIPALITY, common.DataCategory.DATA_CATEGORY_AGE_GROUP],
    purpose: common.Purpose.PURPOSE_UNSPECIFIED,
    legalBasis: `Art. 17(1)(b) GDPR: consent:${erasure.consentId} withdrawn`,
    details: { consent_id: erasure.consentId, owner_agency_id: erasure.ownerAgencyId, referrals: erasure.referrals },
    at: rt.now(),
  });
}
