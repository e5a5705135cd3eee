import { eventTypeOf, oneStop, oneStopEvents } from '@lotse/contracts';
import { Violations } from '@lotse/grpc';
import { v7 as uuidv7 } from 'uuid';
import { auditAssessment, caseRefOf, codeExpected, codePattern, maxEntries, recordStep, refuseWithdrawnConsent, requireAssessmentFlow, requireIntake, unary } from '../desk-records.js';
import { toAssessment } from '../mappers.js';

const { CefrLevel, RecognitionStatus } = oneStop;

/**
 * The competence assessment (Kompetenzfeststellung) of a case that had its intake, under a
 * consent in force; audited. Stored answers under 'OneStop/RecordCompetenceAssessment'.
 */
export const recordCompetenceAssessment = unary(oneStop.OneStopServiceService.recordCompetenceAssessment, {
  access: 'self',
  validate: (req) => validateAssessment(req),
  idempotent: { storedAs: 'OneStop/RecordCompetenceAssessment' },
  async handle({ requestId, caseRef, consentId }, { rt, ctx, trx, request }) {
    requireAssessmentFlow(rt, ctx);
    await requireIntake(trx, caseRef);
    await refuseWithdrawnConsent(trx, consentId);
    const now = rt.now();
    const qualifications = request.qualifications.map((q) => ({ titleCode: q.titleCode.trim(), country: q.country.trim(), recognition: q.recognition }));
    const workExperience = request.workExperience.map((w) => ({ fieldCode: w.fieldCode.trim(), years: w.years }));
    const languages = request.languages.map((l) => ({ code: l.code.trim(), level: l.level }));
    const row = await trx
      .insertInto('one_stop_assessment')
      .values({
        assessment_id: uuidv7(),
        case_ref: caseRef,
        consent_id: consentId,
        qualifications: JSON.stringify(qualifications),
        work_experience: JSON.stringify(workExperience),
        languages: JSON.stringify(languages),
        assessed_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const counts = { qualificationCount: qualifications.length, workExperienceCount: workExperience.length, languageCount: languages.length };
    const eventId = await rt.publish(trx, oneStopEvents.CompetenceAssessed, { caseRef, assessmentId: row.assessment_id, ...counts, assessedAt: now }, caseRef);
    const summary = `Competence assessment recorded: ${counts.qualificationCount} qualification(s), ${counts.workExperienceCount} field(s) of work experience, ${counts.languageCount} language(s)`;
    await recordStep(rt, trx, { eventId, caseRef, eventType: eventTypeOf(oneStopEvents.CompetenceAssessed), summary });
    // Last, as appendAudit holds the chain's lock until commit.
    await auditAssessment(trx, ctx, {
      action: 'write',
      caseRef,
      consentId,
      details: { assessment_id: row.assessment_id, qualifications: counts.qualificationCount, work_experience: counts.workExperienceCount, languages: counts.languageCount },
      at: now,
    });
    return { assessment: toAssessment(row) };
  },
});

function validateAssessment(req: oneStop.RecordCompetenceAssessmentRequest) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const caseRef = caseRefOf(v, req.caseRef);
  const consentId = v.text('consent_id', req.consentId, { max: 64 });
  if (!req.qualifications.length && !req.workExperience.length && !req.languages.length) v.add('qualifications', 'an assessment records at least one qualification, work experience or language');
  for (const [field, list] of [['qualifications', req.qualifications], ['work_experience', req.workExperience], ['languages', req.languages]] as const) {
    if (list.length > maxEntries) v.add(field, `must hold at most ${maxEntries} entries`);
  }
  req.qualifications.forEach((q, i) => {
    v.pattern(`qualifications[${i}].title_code`, q.titleCode, codePattern, `an ISCO-08 code (ISCO-7411) or ${codeExpected}`);
    v.pattern(`qualifications[${i}].country`, q.country, /^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code (SY, UA, AF, TR)');
    v.enumValue(`qualifications[${i}].recognition`, q.recognition, RecognitionStatus);
  });
  req.workExperience.forEach((w, i) => {
    v.pattern(`work_experience[${i}].field_code`, w.fieldCode, codePattern, `an ISCO-08 code or ${codeExpected}`);
    if (!Number.isInteger(w.years) || w.years < 0 || w.years > 60) v.add(`work_experience[${i}].years`, 'must be between 0 and 60');
  });
  const seen = new Set<string>();
  req.languages.forEach((l, i) => {
    const code = v.pattern(`languages[${i}].code`, l.code, /^[a-z]{2,3}$/, 'an ISO 639 language code (de, ar, uk, fa, tr)');
    if (code && seen.has(code)) v.add(`languages[${i}].code`, 'must name each language once');
    seen.add(code);
    v.enumValue(`languages[${i}].level`, l.level, CefrLevel);
  });
  v.throwIfAny();
  return { requestId, caseRef, consentId };
}
