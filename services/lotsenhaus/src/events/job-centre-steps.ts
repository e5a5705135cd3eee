// A job centre's case steps on the hub's timeline, where the case was routed to that job centre.
import { jobCentreEvents, type envelope } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import { hubRepository as repo } from '../db/hub-repository.js';
import type { HubDb } from '../db/schema.js';
import type { TimelineFact } from '../domain/timeline-facts.js';
import type { Trx } from './carry-out.js';

export function jobCentreStepHandlers(rt: AgencyContext<HubDb>) {
  async function step(trx: Trx, env: envelope.Envelope, jobCentreId: string, fact: TimelineFact, referralId?: string) {
    if (jobCentreId !== env.producerAgencyId) {
      rt.logger.warn({ producer: env.producerAgencyId, job_centre: jobCentreId }, "job centre step in another agency's name; ignored");
      return;
    }
    const referral = await repo.routedInCase(trx, env.caseRef, env.producerAgencyId, referralId);
    if (!referral) {
      rt.logger.warn({ producer: env.producerAgencyId, case_ref: env.caseRef }, 'job centre step for a case not routed there; ignored');
      return;
    }
    const at = { eventId: env.eventId, caseRef: env.caseRef, referralId: referral.referral_id, eventType: env.eventType, agencyId: env.producerAgencyId, occurredAt: env.occurredAt ?? rt.now() };
    await repo.recordStep(trx, { ...at, fact });
  }

  return {
    CustomerRegistered: (trx: Trx, msg: jobCentreEvents.CustomerRegistered, env: envelope.Envelope) =>
      step(trx, env, msg.jobCentreId, { kind: 'jc-registered', jobCentre: msg.jobCentreId }, msg.referralId),

    LanguageCourseFundingDecided: (trx: Trx, { jobCentreId, decision, assessedLevel, targetLevel, courseStart, refusalReason }: jobCentreEvents.LanguageCourseFundingDecided, env: envelope.Envelope) =>
      step(trx, env, jobCentreId, { kind: 'jc-funding', decision, assessedLevel, targetLevel, courseStart, refusalReason }),

    CooperationPlanAgreed: (trx: Trx, { jobCentreId, partnerAgencyIds, version, planDate, goalCount, stepCount, firstDueDate, lastDueDate }: jobCentreEvents.CooperationPlanAgreed, env: envelope.Envelope) =>
      step(trx, env, jobCentreId, { kind: 'jc-plan', version, planDate, goalCount, stepCount, firstDueDate, lastDueDate, partners: partnerAgencyIds }),

    PlacementRecorded: (trx: Trx, msg: jobCentreEvents.PlacementRecorded, env: envelope.Envelope) =>
      step(trx, env, msg.jobCentreId, { kind: 'jc-placement', type: msg.type, startDate: msg.startDate, endDate: msg.endDate }),

    JobCentreCaseClosed: (trx: Trx, msg: jobCentreEvents.JobCentreCaseClosed, env: envelope.Envelope) =>
      step(trx, env, msg.jobCentreId, { kind: 'jc-closed', closedOn: msg.closedOn, outcome: msg.outcome }),
  };
}
