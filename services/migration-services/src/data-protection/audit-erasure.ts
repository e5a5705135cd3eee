import { common } from '@lotse/contracts';
import { appendAudit, systemActor } from '@lotse/audit';
import type { Transaction } from '@lotse/db';
import type { AgencyContext } from '@lotse/runtime';
import type { MigrationServicesDb } from '../db/schema.js';

/** The legal basis an erasure after a withdrawal names. */
export const erasureBasis = (consentId: string) => `Art. 17(1)(b) GDPR: consent:${consentId} withdrawn`;

/**
 * Records an erasure under a withdrawn consent in the audit log, inside the erasure's transaction.
 * Called with what this run erased; nothing erased (a repeated request) writes nothing.
 */
export async function auditErasure(
  rt: AgencyContext<MigrationServicesDb>,
  trx: Transaction<MigrationServicesDb>,
  erasure: { consentId: string; caseRef: string; ownerAgencyId: string; erased: readonly number[]; retained?: readonly { category: number; statute: string }[] },
): Promise<void> {
  if (erasure.erased.length === 0) return;
  await appendAudit(trx, {
    ...systemActor(rt.agencyId),
    action: 'erase',
    subjectRef: erasure.caseRef,
    categories: [...erasure.erased].sort((a, b) => a - b),
    purpose: common.Purpose.PURPOSE_UNSPECIFIED,
    legalBasis: erasureBasis(erasure.consentId),
    details: {
      consent_id: erasure.consentId,
      owner_agency_id: erasure.ownerAgencyId,
      ...(erasure.retained?.length && { kept_under: erasure.retained.map((r) => `${r.category}: ${r.statute}`).join('; ') }),
    },
    at: rt.now(),
  });
}
