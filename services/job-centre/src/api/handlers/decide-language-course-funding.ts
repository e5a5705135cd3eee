import { jobCentre as jc, jobCentreEvents } from '@lotse/contracts';
import { v7 as uuidv7 } from 'uuid';
import { openCustomerOrThrow, unary } from '../case-records.js';
import { toFunding } from '../mappers.js';
import { validateFunding } from '../validate.js';

/** A caseworker decides whether a language course is funded for an open case; the decision goes out as its event. */
export const decideLanguageCourseFunding = unary(jc.JobCentreServiceService.decideLanguageCourseFunding, {
  access: 'self',
  validate: (req, rt) => validateFunding(req, rt.now()),
  idempotent: true,
  async handle(input, { rt, request: req, trx }) {
    const customer = await openCustomerOrThrow(trx, input.customerId, 'decide language-course funding');
    const now = rt.now();
    const row = await trx
      .insertInto('language_course_funding')
      .values({
        decision_id: uuidv7(),
        customer_id: customer.customer_id,
        assessed_level: req.assessedLevel,
        target_level: req.targetLevel,
        decision: req.decision,
        refusal_reason: input.refusalReason,
        course_start: input.courseStart,
        decided_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await rt.publish(
      trx,
      jobCentreEvents.LanguageCourseFundingDecided,
      {
        caseRef: customer.case_ref,
        jobCentreId: rt.agencyId,
        customerId: customer.customer_id,
        decisionId: row.decision_id,
        assessedLevel: row.assessed_level,
        targetLevel: row.target_level,
        decision: row.decision,
        refusalReason: row.refusal_reason,
        courseStart: row.course_start ?? '',
        decidedAt: now,
      },
      customer.case_ref,
    );
    return { funding: toFunding(row) };
  },
});
