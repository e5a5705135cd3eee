// The part of an accepted adult's journey after counselling: the migration service refers the case
// on to the job centre, whose caseworker registers the customer, decides the language course
// funding, agrees a plan, records a placement and closes the case.
import { common, jobCentre as jc, migrationServices as ms } from '@lotse/contracts';
import type { PromiseClient } from '@lotse/grpc';
import type { JourneyRecord } from './journey-record.js';
import { day, type JourneySteps, type MsClient } from './journey-steps.js';
import { NotThereYet, retrying } from './network.js';

const { ReferralStatus: S, Purpose } = common;

type JcClient = PromiseClient<jc.JobCentreServiceClient>;

/** A step the running network may lack: left out (and noted on the record) when it has no such RPC. */
async function unlessMissing<T>(record: JourneyRecord, rpc: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await retrying(call, rpc);
  } catch (error) {
    if (error instanceof NotThereYet) {
      record.skipped.push(error.rpc);
      return undefined;
    }
    throw error;
  }
}

/** Migration services → job centre: registration, funding, plan, placement, close. */
export async function referOnToJobCentre(steps: JourneySteps, record: JourneyRecord, provider: MsClient, inboxReferralId: string, counselled: string[]) {
  const caseRef = record.caseRef!;
  const outgoing = await unlessMissing(record, 'MigrationServices/RequestReferral', () =>
    provider.requestReferral(
      ms.RequestReferralRequest.fromPartial({
        requestId: steps.id(record, 'refer-on'),
        referralId: inboxReferralId,
        purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
        type: common.ReferralType.REFERRAL_TYPE_REFERRAL,
        recipientType: 'job-centre',
      }),
    ),
  );
  if (!outgoing) return;
  const jcReferralId = outgoing.referral!.referralId;
  const routed = await steps.routedTo(caseRef, jcReferralId);
  const requested = [...counselled, 'ReferralRequested'];
  if (!routed) {
    record.expectation = { outcome: 'referred on → no job centre found', statuses: [S.REFERRAL_STATUS_UNROUTABLE], events: [...requested, 'ReferralUnroutable'] };
    return;
  }
  record.providers.push(routed.provider);
  const centre = steps.net.jobCentres.get(routed.provider);
  if (!centre) throw new Error(`the hub routed the job-centre referral to ${routed.provider}, which is no job centre of this network`);
  const { shown, completed } = await atTheJobCentre(steps, record, centre, jcReferralId);
  const events = [...requested, 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', ...shown];
  record.expectation = completed
    ? { outcome: 'placed by the job centre (completed)', statuses: [S.REFERRAL_STATUS_COMPLETED], events: [...events, 'ReferralCompleted'] }
    : { outcome: 'placed by the job centre (accepted)', statuses: [S.REFERRAL_STATUS_ACCEPTED], events };
}

/**
 * The job centre's caseworker on the referral routed to them, through to its completion. Answers
 * the job centre's steps the hub shows on the timeline (for those that ran) and whether the
 * referral was completed.
 */
async function atTheJobCentre(steps: JourneySteps, record: JourneyRecord, centre: JcClient, jcReferralId: string): Promise<{ shown: string[]; completed: boolean }> {
  const { today } = steps;
  const rng = record.plan.rng;
  const step = <T>(rpc: string, call: () => Promise<T>) => unlessMissing(record, `JobCentre/${rpc}`, call);
  await steps.received(record, jcReferralId);
  await steps.decide(record, record.caseRef!, jcReferralId, 'ReferralAccepted', 'JobCentre/AcceptReferral', () => centre.acceptReferral({ requestId: steps.id(record, 'jc-accept'), referralId: jcReferralId }));
  await step('FetchNewcomerData', () => centre.fetchNewcomerData({ requestId: steps.id(record, 'jc-fetch'), referralId: jcReferralId }));
  const benefitsStart = day(today, -rng.int(7, 90));
  const shown: string[] = [];
  const registered = await retrying(
    () =>
      centre.registerCustomer({
        requestId: steps.id(record, 'jc-register'),
        referralId: jcReferralId,
        customerNumber: `${rng.int(100, 999)}A${String(rng.int(0, 999_999)).padStart(6, '0')}`,
        bgNumber: rng.chance(0.5) ? `${rng.int(10_000, 99_999)}BG${String(rng.int(0, 9_999_999)).padStart(7, '0')}` : '',
        benefitsStart,
      }),
    'JobCentre/RegisterCustomer',
  );
  const customerId = registered.customer!.customerId;
  shown.push('CustomerRegistered');
  const L = jc.CefrLevel;
  const assessed = rng.pick([L.CEFR_LEVEL_A1, L.CEFR_LEVEL_A2, L.CEFR_LEVEL_A2, L.CEFR_LEVEL_B1, L.CEFR_LEVEL_B1, L.CEFR_LEVEL_B2]);
  const approved = assessed !== L.CEFR_LEVEL_A1;
  if (await step('DecideLanguageCourseFunding', () =>
    centre.decideLanguageCourseFunding({
      requestId: steps.id(record, 'jc-funding'),
      customerId,
      assessedLevel: assessed,
      targetLevel: approved ? ((assessed + 1) as jc.CefrLevel) : L.CEFR_LEVEL_B1,
      decision: approved ? jc.FundingDecision.FUNDING_DECISION_APPROVED : jc.FundingDecision.FUNDING_DECISION_REFUSED,
      refusalReason: approved ? jc.FundingRefusalReason.FUNDING_REFUSAL_REASON_UNSPECIFIED : jc.FundingRefusalReason.FUNDING_REFUSAL_REASON_INTEGRATION_COURSE_FIRST,
      courseStart: approved ? day(today, rng.int(14, 60)) : '',
    }),
  )) shown.push('LanguageCourseFundingDecided');
  if (await step('AgreeCooperationPlan', () =>
    centre.agreeCooperationPlan({
      requestId: steps.id(record, 'jc-plan'),
      customerId,
      planDate: day(today),
      goals: [approved ? 'Berufssprachkurs abschließen' : 'Integrationskurs abschließen', 'Aufnahme einer sozialversicherungspflichtigen Beschäftigung'],
      steps: [
        { description: 'Anmeldung zum Sprachkurs', dueDate: day(today, 14), responsible: jc.StepResponsible.STEP_RESPONSIBLE_CUSTOMER, partnerAgencyId: '' },
        { description: 'Vermittlungsvorschläge übersenden', dueDate: day(today, 30), responsible: jc.StepResponsible.STEP_RESPONSIBLE_JOB_CENTRE, partnerAgencyId: '' },
      ],
    }),
  )) shown.push('CooperationPlanAgreed');
  const P = jc.PlacementType;
  const placement = rng.pick([P.PLACEMENT_TYPE_JOB, P.PLACEMENT_TYPE_JOB, P.PLACEMENT_TYPE_APPRENTICESHIP, P.PLACEMENT_TYPE_ACTIVATION_MEASURE]);
  if (await step('RecordPlacement', () =>
    centre.recordPlacement({
      requestId: steps.id(record, 'jc-placement'),
      customerId,
      type: placement,
      reference: placement === P.PLACEMENT_TYPE_ACTIVATION_MEASURE ? `962/${rng.int(1000, 9999)}/26` : `BNR-${rng.int(10_000_000, 99_999_999)}`,
      startDate: day(today, rng.int(7, 45)),
      endDate: '',
    }),
  )) shown.push('PlacementRecorded');
  const C = jc.CaseOutcome;
  const outcome = placement === P.PLACEMENT_TYPE_JOB ? C.CASE_OUTCOME_EMPLOYED : placement === P.PLACEMENT_TYPE_APPRENTICESHIP ? C.CASE_OUTCOME_VOCATIONAL_TRAINING : C.CASE_OUTCOME_OTHER;
  if (await step('CloseCase', () => centre.closeCase({ requestId: steps.id(record, 'jc-close'), customerId, outcome, closedOn: day(today) }))) shown.push('JobCentreCaseClosed');
  const completed = await step('CompleteReferral', () =>
    centre.completeReferral(jc.CompleteReferralRequest.fromPartial({ requestId: steps.id(record, 'jc-complete'), referralId: jcReferralId, outcome: common.ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED })),
  );
  if (completed) steps.observeDecision(record, record.caseRef!, jcReferralId, 'ReferralCompleted', Date.now());
  return { shown, completed: Boolean(completed) };
}
