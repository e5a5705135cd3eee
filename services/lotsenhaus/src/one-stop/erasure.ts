import { appendAudit, systemActor } from '@lotse/audit';
import { common } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { OneStopTables } from './schema.js';

/**
 * The desk's erasure port (its tables are its own): the competence assessments recorded under a
 * withdrawn consent are erased in the caller's transaction — the hub's, with its routing facts —
 * and the erasure is audited. Returns how many were erased.
 */
export async function eraseSubject(rt: Pick<AgencyContext<unknown>, 'agencyId' | 'now'>, trx: Transaction<any>, erasure: { consentId: string; caseRef: string }): Promise<number> {
  const result = await (trx as Transaction<OneStopTables>).deleteFrom('one_stop_assessment').where('consent_id', '=', erasure.consentId).executeTakeFirst();
  const erased = Number(result.numDeletedRows ?? 0);
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
