// Integration tier: a job centre's work with a registered customer — language-course funding,
// the cooperation plan, a placement, closing the case — next to the real foreign office on the
// real PostgreSQL and NATS JetStream, over gRPC with mTLS; and that no event it produced carries
// personal data.
import { status } from '@grpc/grpc-js';
import { envelope, jobCentre as jc, jobCentreEvents as jce } from '@lotse/contracts';
import { grpcError, streamEvents } from '@lotse/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { day, expectInvalid, startJobCentreFixture, today, type JobCentreUnderTest } from './support/job-centre-fixture.js';

const { CustomerStatus, CefrLevel, FundingDecision, FundingRefusalReason, StepResponsible, PlacementType, CaseOutcome } = jc;

let t: JobCentreUnderTest;
let customerId: string;
beforeAll(async () => {
  t = await startJobCentreFixture();
  // The referral of the covered newcomer taken in, accepted, its data fetched and its customer
  // registered, as the intake tests do step by step.
  customerId = (await t.registeredCustomer('reg-1', '123A456789', { newcomer: t.covered, fetch: true, bgNumber: '07312BG0012345', benefitsStart: day(-30) })).customerId;
});
afterAll(() => t?.stop());

describe('job centre (real PostgreSQL, NATS JetStream and foreign office)', () => {
  it('decides language-course funding by the CEFR rule; an unknown customer is NOT_FOUND and nothing is written', async () => {
    const before = await t.snapshot();
    const unknown = await grpcError(
      t.client.decideLanguageCourseFunding({
        requestId: 'fund-unknown',
        customerId: 'no-such-customer',
        assessedLevel: CefrLevel.CEFR_LEVEL_A2,
        targetLevel: CefrLevel.CEFR_LEVEL_B1,
        decision: FundingDecision.FUNDING_DECISION_APPROVED,
        refusalReason: 0,
        courseStart: day(14),
      }),
    );
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toMatch(/^customer_id: no customer "no-such-customer"/);

    const decide = (over: Partial<jc.DecideLanguageCourseFundingRequest>) =>
      t.client.decideLanguageCourseFunding({
        requestId: 'fund-x',
        customerId,
        assessedLevel: CefrLevel.CEFR_LEVEL_A2,
        targetLevel: CefrLevel.CEFR_LEVEL_B1,
        decision: FundingDecision.FUNDING_DECISION_APPROVED,
        refusalReason: 0,
        courseStart: day(14),
        ...over,
      });
    await expectInvalid(decide({ requestId: 'fund-below', assessedLevel: CefrLevel.CEFR_LEVEL_B2, targetLevel: CefrLevel.CEFR_LEVEL_B1 }), ['target_level']);
    await expectInvalid(decide({ requestId: 'fund-skip', targetLevel: CefrLevel.CEFR_LEVEL_B2 }), ['target_level']);
    await expectInvalid(decide({ requestId: 'fund-unset', assessedLevel: 0, decision: 0 }), ['assessed_level', 'decision']);
    await expectInvalid(decide({ requestId: 'fund-no-start', courseStart: '' }), ['course_start']);
    await expectInvalid(decide({ requestId: 'fund-past', courseStart: day(-1) }), ['course_start']);
    await expectInvalid(decide({ requestId: 'fund-refused-no-reason', decision: FundingDecision.FUNDING_DECISION_REFUSED, courseStart: '' }), ['refusal_reason']);
    expect(await t.snapshot()).toEqual(before);

    const refused = await decide({
      requestId: 'fund-refused',
      assessedLevel: CefrLevel.CEFR_LEVEL_A2,
      targetLevel: CefrLevel.CEFR_LEVEL_C1,
      decision: FundingDecision.FUNDING_DECISION_REFUSED,
      refusalReason: FundingRefusalReason.FUNDING_REFUSAL_REASON_LEVEL_NOT_NEXT,
      courseStart: '',
    });
    expect(refused.funding).toMatchObject({ decision: FundingDecision.FUNDING_DECISION_REFUSED, refusalReason: FundingRefusalReason.FUNDING_REFUSAL_REASON_LEVEL_NOT_NEXT, courseStart: '' });

    const approved = await decide({ requestId: 'fund-1' });
    expect(approved.funding).toMatchObject({
      customerId,
      assessedLevel: CefrLevel.CEFR_LEVEL_A2,
      targetLevel: CefrLevel.CEFR_LEVEL_B1,
      decision: FundingDecision.FUNDING_DECISION_APPROVED,
      refusalReason: 0,
      courseStart: day(14),
    });
    expect(await decide({ requestId: 'fund-1' })).toEqual(approved);

    const decided = await t.waitForStreamed(jce.LanguageCourseFundingDecided, t.covered.caseRef, (m) => m.decisionId === approved.funding!.decisionId);
    expect(decided).toHaveLength(1);
    expect(decided[0]!.message).toEqual({
      caseRef: t.covered.caseRef,
      jobCentreId: t.jobCentreId,
      customerId,
      decisionId: approved.funding!.decisionId,
      assessedLevel: CefrLevel.CEFR_LEVEL_A2,
      targetLevel: CefrLevel.CEFR_LEVEL_B1,
      decision: FundingDecision.FUNDING_DECISION_APPROVED,
      refusalReason: 0,
      courseStart: day(14),
      decidedAt: expect.any(Date),
    });
    expect(await t.outboxCount('LanguageCourseFundingDecided')).toBe(2);
  });

  it('agrees a cooperation plan; steps dated before the plan are INVALID_ARGUMENT naming steps[i].due_date, nothing written', async () => {
    const goals = ['Deutsch auf B1 bis Jahresende', 'Einstieg in die Pflege'];
    const steps: jc.PlanStep[] = [
      { description: 'Berufssprachkurs B1 besuchen', dueDate: day(90), responsible: StepResponsible.STEP_RESPONSIBLE_CUSTOMER, partnerAgencyId: '' },
      { description: 'Kompetenzfeststellung im Lotsenhaus', dueDate: day(30), responsible: StepResponsible.STEP_RESPONSIBLE_PARTNER, partnerAgencyId: 'lotsenhaus' },
      { description: 'Anerkennung des Abschlusses prüfen', dueDate: day(45), responsible: StepResponsible.STEP_RESPONSIBLE_JOB_CENTRE, partnerAgencyId: '' },
    ];
    const before = await t.snapshot();
    const early = steps.map((s, i) => (i === 1 ? { ...s, dueDate: day(-1) } : s));
    const error = await expectInvalid(t.client.agreeCooperationPlan({ requestId: 'plan-early', customerId, planDate: today(), goals, steps: early }), ['steps[1].due_date']);
    expect(error.details).toMatch(/steps\[1\]\.due_date: must not be before the plan date/);
    await expectInvalid(
      t.client.agreeCooperationPlan({
        requestId: 'plan-bad',
        customerId,
        planDate: day(1),
        goals: [],
        steps: [{ description: '', dueDate: day(5), responsible: StepResponsible.STEP_RESPONSIBLE_PARTNER, partnerAgencyId: '' }],
      }),
      ['plan_date', 'goals', 'steps[0].description', 'steps[0].partner_agency_id'],
    );
    const unknown = await grpcError(t.client.agreeCooperationPlan({ requestId: 'plan-unknown', customerId: 'nobody', planDate: today(), goals, steps }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(await t.snapshot()).toEqual(before);

    const { plan } = await t.client.agreeCooperationPlan({ requestId: 'plan-1', customerId, planDate: today(), goals, steps });
    expect(plan).toMatchObject({ customerId, version: 1, planDate: today(), goals, steps });

    const agreed = await t.waitForStreamed(jce.CooperationPlanAgreed, t.covered.caseRef);
    expect(agreed).toHaveLength(1);
    expect(agreed[0]!.message).toEqual({
      caseRef: t.covered.caseRef,
      jobCentreId: t.jobCentreId,
      customerId,
      planId: plan!.planId,
      version: 1,
      planDate: today(),
      goalCount: 2,
      stepCount: 3,
      customerStepCount: 1,
      jobCentreStepCount: 1,
      partnerStepCount: 1,
      partnerAgencyIds: ['lotsenhaus'],
      firstDueDate: day(30),
      lastDueDate: day(90),
      agreedAt: expect.any(Date),
    });
    // Counts and dates only: no goal or step text travels.
    for (const text of [...goals, ...steps.map((s) => s.description)]) expect(agreed[0]!.raw.includes(text)).toBe(false);
  });

  it('records a placement into a job; an end before the start is refused', async () => {
    const before = await t.snapshot();
    await expectInvalid(
      t.client.recordPlacement({ requestId: 'place-bad', customerId, type: 0, reference: '', startDate: day(20), endDate: day(10) }),
      ['type', 'reference', 'end_date'],
    );
    expect(await t.snapshot()).toEqual(before);

    const { placement } = await t.client.recordPlacement({
      requestId: 'place-1',
      customerId,
      type: PlacementType.PLACEMENT_TYPE_JOB,
      reference: 'BNR-48213377',
      startDate: today(),
      endDate: '',
    });
    expect(placement).toMatchObject({ customerId, type: PlacementType.PLACEMENT_TYPE_JOB, reference: 'BNR-48213377', startDate: today(), endDate: '' });

    const recorded = await t.waitForStreamed(jce.PlacementRecorded, t.covered.caseRef);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.message).toEqual({
      caseRef: t.covered.caseRef,
      jobCentreId: t.jobCentreId,
      customerId,
      placementId: placement!.placementId,
      type: PlacementType.PLACEMENT_TYPE_JOB,
      startDate: today(),
      endDate: '',
      recordedAt: expect.any(Date),
    });
    expect(recorded[0]!.raw.includes('BNR-48213377')).toBe(false);
  });

  it('closes only with an outcome code, then takes no further steps; the whole journey is in the stream in order', async () => {
    const before = await t.snapshot();
    const error = await expectInvalid(t.client.closeCase({ requestId: 'close-none', customerId, outcome: 0, closedOn: today() }), ['outcome']);
    expect(error.details).toMatch(/^outcome: must be set/);
    await expectInvalid(t.client.closeCase({ requestId: 'close-early', customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: day(-31) }), ['closed_on']);
    await expectInvalid(t.client.closeCase({ requestId: 'close-future', customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: day(1) }), ['closed_on']);
    expect(await t.snapshot()).toEqual(before);

    const { customer } = await t.client.closeCase({ requestId: 'close-1', customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today() });
    expect(customer).toMatchObject({ customerId, status: CustomerStatus.CUSTOMER_STATUS_CLOSED, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today() });
    expect(await t.client.closeCase({ requestId: 'close-1', customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today() })).toEqual({ customer });
    expect((await grpcError(t.client.closeCase({ requestId: 'close-2', customerId, outcome: CaseOutcome.CASE_OUTCOME_OTHER, closedOn: today() }))).code).toBe(
      status.FAILED_PRECONDITION,
    );
    const late = await grpcError(
      t.client.recordPlacement({ requestId: 'place-late', customerId, type: PlacementType.PLACEMENT_TYPE_JOB, reference: 'X-1', startDate: today(), endDate: '' }),
    );
    expect(late.code).toBe(status.FAILED_PRECONDITION);

    const closed = await t.waitForStreamed(jce.JobCentreCaseClosed, t.covered.caseRef);
    expect(closed.map((e) => e.message)).toEqual([
      { caseRef: t.covered.caseRef, jobCentreId: t.jobCentreId, customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today(), closedAt: expect.any(Date) },
    ]);

    const journey = (await streamEvents(t.nats, t.jobCentreId)).filter((e) => e.envelope.caseRef === t.covered.caseRef).map((e) => e.envelope.eventType);
    expect(journey.filter((t, i) => journey.indexOf(t) === i)).toEqual([
      'ReferralReceived',
      'ReferralAccepted',
      'NewcomerDataReceived',
      'CustomerRegistered',
      'LanguageCourseFundingDecided',
      'CooperationPlanAgreed',
      'PlacementRecorded',
      'JobCentreCaseClosed',
    ]);

    const { customer: got, fundingDecisions, cooperationPlans, placements } = await t.client.getCustomer({ customerId });
    expect(got).toEqual(customer);
    expect(fundingDecisions).toHaveLength(2);
    expect(cooperationPlans.map((p) => p.version)).toEqual([1]);
    expect(placements).toHaveLength(1);
    const closedList = await t.client.listCustomers({ status: CustomerStatus.CUSTOMER_STATUS_CLOSED, pageSize: 0, pageToken: '' });
    expect(closedList.customers.map((c) => c.customerId)).toContain(customerId);
  });

  it('does not close as employed without a recorded job', async () => {
    const other = await t.registeredCustomer('reg-other', '555B000111');
    const before = await t.snapshot();
    const error = await grpcError(t.client.closeCase({ requestId: 'close-other', customerId: other.customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today() }));
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(error.details).toMatch(/PLACEMENT_TYPE_JOB/);
    expect(await t.snapshot()).toEqual(before);
    const { customer } = await t.client.closeCase({ requestId: 'close-other-2', customerId: other.customerId, outcome: CaseOutcome.CASE_OUTCOME_MOVED_AWAY, closedOn: today() });
    expect(customer?.outcome).toBe(CaseOutcome.CASE_OUTCOME_MOVED_AWAY);
  });

  it('keeps personal data out of every event it produced', async () => {
    const stored = (await streamEvents(t.nats, t.jobCentreId)).map((e) => Buffer.from(envelope.Envelope.encode(e.envelope).finish()));
    expect(stored.length).toBeGreaterThan(10);
    for (const bytes of stored) {
      for (const personal of ['Olena', 'Kovalenko', 'Reza', 'Ahmadi', '1988-09-03', '123A456789', '555B000111']) expect(bytes.includes(personal)).toBe(false);
    }
  });
});
