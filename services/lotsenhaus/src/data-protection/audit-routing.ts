import { common, type events } from '@lotse/contracts';
import { appendAudit, systemActor } from '@lotse/audit';

import { sql, type Transaction } from '@lotse/db';
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
 * withdrawn consent are erased with the hub's routing facts, in the same transaction, audited.
 * Returns how many were erased.
 */
export async function eraseAssessmentsUnderConsent(
  rt: AgencyContext<HubDb>,
  trx: Transaction<HubDb>,
  erasure: { consentId: string; caseRef: string },
): Promise<number> {
  const result = await sql`delete from one_stop_assessment where consent_id = ${erasure.consentId}`.execute(trx);
  const erased = Number(result.numAffectedRows ?? 0);
  if (erased > 0) {
    await appendAudit(trx, {
      ...systemActor(rt.agencyId),
      action: 'erase',
      subjectRef: erasure.caseRef,
      categories: [common.DataCategory.DATA_CATEGORY_LANGUAGES],
      purpose: common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
      legalBasis: `Art. 17(1)(b) GDPR: consent:${erasure.consentId} withdrawn`,
      details: { consent_id: erasure.consentId, competence_assessments: erased },
      at: rt.now(),
    });
  }
  return erased;
}
