import { common, type events } from '@lotse/contracts';
import { appendAudit, systemActor } from '@lotse/audit';
import type { Transaction } from '@lotse/db';
import { eraseSubject } from '../one-stop/index.js';
import type { AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';

/**
 * The hub holds no personal data beyond the routing facts; a routing decision reads them
 * (municipality, age group, and the languages where the consent grants them), so each decision
 * is on record in the hub's audit log.
 */
export async function auditRoutingDecision(rt: AgencyContext<HubDb>, trx: Transaction<HubDb>, msg: events.ReferralRequested, providerId: string | null): Promise<void> {
  await appendAudit(trx, {
    ...systemActor(rt.agencyId),
    action: 'read',
    subjectRef: msg.caseRef,
    categories: [
      ...(msg.languages.length ? [common.DataCategory.DATA_CATEGORY_LANGUAGES] : []),
      common.DataCategory.DATA_CATEGORY_MUNICIPALITY,
      common.DataCategory.DATA_CATEGORY_AGE_GROUP,
    ],
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
  erasure: { consentId: string; caseRef: string; ownerAgencyId: string; referrals: number; categories: common.DataCategory[] },
): Promise<void> {
  await appendAudit(trx, {
    ...systemActor(rt.agencyId),
    action: 'erase',
    subjectRef: erasure.caseRef,
    categories: erasure.categories,
    purpose: common.Purpose.PURPOSE_UNSPECIFIED,
    legalBasis: `Art. 17(1)(b) GDPR: consent:${erasure.consentId} withdrawn`,
    details: { consent_id: erasure.consentId, owner_agency_id: erasure.ownerAgencyId, referrals: erasure.referrals },
    at: rt.now(),
  });
}

/**
 * The one-stop desk shares this deployment: its competence assessments recorded under a
 * withdrawn consent are erased with the hub's routing facts, in the same transaction, audited —
 * through the desk's own erasure port, since its tables are its own.
 */
export const eraseAssessmentsUnderConsent: (rt: AgencyContext<HubDb>, trx: Transaction<HubDb>, erasure: { consentId: string; caseRef: string }) => Promise<number> = eraseSubject;
