import { oneStop } from '@lotse/contracts';
import { NotFoundError, setCaseRef, Violations } from '@lotse/grpc';
import { auditAssessment, caseRefOf, refuseWithdrawnConsent, requireAssessmentFlow, unary } from '../desk-records.js';
import { toAssessment } from '../mappers.js';

/** A case's latest competence assessment, while its consent is in force; the read is audited. */
export const getCompetenceAssessment = unary(oneStop.OneStopServiceService.getCompetenceAssessment, {
  access: 'self',
  validate: (req) => {
    const v = new Violations();
    const caseRef = caseRefOf(v, req.caseRef);
    v.throwIfAny();
    return { caseRef };
  },
  transaction: true,
  async handle({ caseRef }, { rt, ctx, trx }) {
    requireAssessmentFlow(rt, ctx);
    setCaseRef(caseRef);
    const row = await trx.selectFrom('one_stop_assessment').selectAll().where('case_ref', '=', caseRef).orderBy('assessed_at', 'desc').orderBy('assessment_id', 'desc').executeTakeFirst();
    if (!row) throw new NotFoundError('case_ref', caseRef, 'competence assessment for case');
    await refuseWithdrawnConsent(trx, row.consent_id);
    await auditAssessment(trx, ctx, { action: 'read', caseRef, consentId: row.consent_id, details: { assessment_id: row.assessment_id }, at: rt.now() });
    return { assessment: toAssessment(row) };
  },
});
