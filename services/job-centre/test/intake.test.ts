// Integration tier: a job centre's intake, next to the real foreign office on the real PostgreSQL
// and NATS JetStream, over gRPC with mTLS: a routed referral taken in, accepted, the newcomer's
// data fetched under the consent, the customer registered; a decline; what the owner refuses; and
// who may call at all.
import { status } from '@grpc/grpc-js';
import { common, events, jobCentre as jc, jobCentreEvents as jce } from '@lotse/contracts';
import { grpcError, waitConsumed, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { day, expectInvalid, startJobCentreFixture, today, type JobCentreUnderTest } from './support/job-centre-fixture.js';

const { DataCategory, Purpose, DeclineReason } = common;
const { IntakeStatus, CustomerStatus, CefrLevel, FundingDecision, PlacementType, CaseOutcome } = jc;

let t: JobCentreUnderTest;
beforeAll(async () => {
  t = await startJobCentreFixture();
});
afterAll(() => t?.stop());

describe('job centre (real PostgreSQL, NATS JetStream and foreign office)', () => {
  let referralId: string;
  let customerId: string;

  it('takes a routed referral into its intake as pending and tells the hub once, even when the event comes again', async () => {
    const routed = await t.route(t.covered);
    referralId = routed.referralId;

    const listed = await waitFor(async () => {
      const { referrals } = await t.client.listReferrals({ status: IntakeStatus.INTAKE_STATUS_PENDING, pageSize: 0, pageToken: '' });
      return referrals.find((r) => r.referralId === referralId);
    }, 'the referral in ListReferrals');
    expect(listed).toMatchObject({
      referralId,
      caseRef: t.covered.caseRef,
      referrerAgencyId: t.mbeId,
      purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
      status: IntakeStatus.INTAKE_STATUS_PENDING,
      dataFetched: false,
      customerId: '',
    });

    const received = await t.waitForStreamed(events.ReferralReceived, t.covered.caseRef);
    expect(received.map((e) => e.message)).toEqual([{ referralId, caseRef: t.covered.caseRef, providerId: t.jobCentreId }]);
    expect(received[0]!.envelope).toMatchObject({ producerAgencyId: t.jobCentreId, eventType: 'ReferralReceived' });

    // Redelivered: the same event past the broker's duplicate window, and a second event of the same routing.
    await t.route(t.covered, { referralId, eventId: routed.eventId, msgId: uuidv7() });
    await t.route(t.covered, { referralId });
    await waitConsumed(t.nats, t.hubId, t.jcDurable());
    const all = await t.client.listReferrals({ status: 0, pageSize: 0, pageToken: '' });
    expect(all.referrals.filter((r) => r.referralId === referralId)).toHaveLength(1);
    expect(await t.streamed(events.ReferralReceived, t.covered.caseRef)).toHaveLength(1);
  });

  it('accepts the referral once: a retry returns the first result, a second acceptance is refused', async () => {
    const early = await grpcError(t.client.fetchNewcomerData({ requestId: 'fetch-early', referralId }));
    expect(early.code).toBe(status.FAILED_PRECONDITION);
    const earlyCustomer = await grpcError(t.client.registerCustomer({ requestId: 'reg-early', referralId, customerNumber: '123A456789', bgNumber: '', benefitsStart: day(-30) }));
    expect(earlyCustomer.code).toBe(status.FAILED_PRECONDITION);

    const first = await t.client.acceptReferral({ requestId: 'accept-1', referralId });
    expect(first.referral).toMatchObject({ referralId, status: IntakeStatus.INTAKE_STATUS_ACCEPTED });
    expect(await t.client.acceptReferral({ requestId: 'accept-1', referralId })).toEqual(first);
    expect((await grpcError(t.client.acceptReferral({ requestId: 'accept-2', referralId }))).code).toBe(status.FAILED_PRECONDITION);

    const accepted = await t.waitForStreamed(events.ReferralAccepted, t.covered.caseRef);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.message).toMatchObject({ referralId, caseRef: t.covered.caseRef, providerId: t.jobCentreId });
  });

  it('fetches the data consented for labour-market integration from the foreign office, which logs the disclosure', async () => {
    const { newcomer } = await t.client.fetchNewcomerData({ requestId: 'fetch-1', referralId });
    expect(newcomer).toEqual({
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_RESIDENCE_STATUS],
      givenNames: 'Olena',
      familyName: 'Kovalenko',
      birthDate: '1988-09-03',
      nationality: '',
      languages: ['uk', 'ru'],
      municipality: '',
      residenceStatus: 'RESIDENCE_STATUS_TEMPORARY_PROTECTION',
      legalBasis: `consent:${t.covered.consentId}`,
      ownerAgencyId: t.foId,
    });

    const log = await t.foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', t.covered.caseRef).execute();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ caller_agency_id: t.jobCentreId, purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, outcome: 'granted' });

    const received = await t.waitForStreamed(events.NewcomerDataReceived, t.covered.caseRef);
    expect(received.map((e) => e.message)).toEqual([
      { referralId, caseRef: t.covered.caseRef, providerId: t.jobCentreId, ownerAgencyId: t.foId, categories: newcomer!.categories },
    ]);

    // A retry is answered from the first result: no second disclosure.
    expect((await t.client.fetchNewcomerData({ requestId: 'fetch-1', referralId })).newcomer).toEqual(newcomer);
    expect(await t.foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', t.covered.caseRef).execute()).toHaveLength(1);
    expect((await t.client.getReferral({ referralId })).referral?.dataFetched).toBe(true);
  });

  it('registers the customer from the accepted referral, refusing bad numbers and a second registration', async () => {
    const before = await t.snapshot();
    await expectInvalid(
      t.client.registerCustomer({ requestId: 'reg-bad', referralId, customerNumber: '12345', bgNumber: '12345XX1', benefitsStart: '2026-02-30' }),
      ['customer_number', 'bg_number', 'benefits_start'],
    );
    const unknown = await grpcError(t.client.registerCustomer({ requestId: 'reg-unknown', referralId: 'no-such-referral', customerNumber: '123A456789', bgNumber: '', benefitsStart: day(-30) }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toMatch(/^referral_id/);
    expect(await t.snapshot()).toEqual(before);

    const request = { requestId: 'reg-1', referralId, customerNumber: '123A456789', bgNumber: '07312BG0012345', benefitsStart: day(-30) };
    const { customer } = await t.client.registerCustomer(request);
    expect(customer).toMatchObject({
      referralId,
      caseRef: t.covered.caseRef,
      customerNumber: '123A456789',
      bgNumber: '07312BG0012345',
      benefitsStart: day(-30),
      status: CustomerStatus.CUSTOMER_STATUS_ACTIVE,
      outcome: CaseOutcome.CASE_OUTCOME_UNSPECIFIED,
    });
    customerId = customer!.customerId;
    expect(await t.client.registerCustomer(request)).toEqual({ customer });
    expect((await grpcError(t.client.registerCustomer({ ...request, requestId: 'reg-2' }))).code).toBe(status.ALREADY_EXISTS);
    // The same id for a different request is refused rather than answered with the first result.
    await expectInvalid(t.client.registerCustomer({ ...request, customerNumber: '999Z999999' }), ['request_id']);

    const registered = await t.waitForStreamed(jce.CustomerRegistered, t.covered.caseRef);
    expect(registered).toHaveLength(1);
    expect(registered[0]!.message).toEqual({ caseRef: t.covered.caseRef, jobCentreId: t.jobCentreId, customerId, referralId, registeredAt: expect.any(Date) });
    // Thin: neither the customer number nor the BG number travels.
    expect(registered[0]!.raw.includes('123A456789')).toBe(false);
    expect(registered[0]!.raw.includes('07312BG0012345')).toBe(false);
    expect((await t.client.getReferral({ referralId })).referral?.customerId).toBe(customerId);
  });

  it('declines a pending referral only with a coded reason, and declines at once a purpose it does not serve', async () => {
    const { referralId: other } = await t.routeAndWait(t.covered);
    await expectInvalid(t.client.declineReferral({ requestId: 'decline-0', referralId: other, reason: 0 }), ['reason']);
    expect((await t.intakeRow(other))!.status).toBe(IntakeStatus.INTAKE_STATUS_PENDING);

    const { referral } = await t.client.declineReferral({ requestId: 'decline-1', referralId: other, reason: DeclineReason.DECLINE_REASON_AREA_NOT_COVERED });
    expect(referral).toMatchObject({ status: IntakeStatus.INTAKE_STATUS_DECLINED, declineReason: DeclineReason.DECLINE_REASON_AREA_NOT_COVERED });
    await t.waitForStreamed(events.ReferralDeclined, t.covered.caseRef, (m) => m.referralId === other);
    expect((await grpcError(t.client.registerCustomer({ requestId: 'reg-declined', referralId: other, customerNumber: '123A456789', bgNumber: '', benefitsStart: today() }))).code).toBe(
      status.FAILED_PRECONDITION,
    );

    const { referralId: misrouted } = await t.routeAndWait(t.covered, Purpose.PURPOSE_MIGRATION_COUNSELLING);
    expect(await t.intakeRow(misrouted)).toMatchObject({ status: IntakeStatus.INTAKE_STATUS_DECLINED, decline_reason: DeclineReason.DECLINE_REASON_TARGET_GROUP_NOT_COVERED });
    const declined = await t.waitForStreamed(events.ReferralDeclined, t.covered.caseRef, (m) => m.referralId === misrouted);
    expect(declined[0]!.message.reason).toBe(DeclineReason.DECLINE_REASON_TARGET_GROUP_NOT_COVERED);
  });

  it('gets PERMISSION_DENIED from the owner when no consent covers labour-market integration at the job centre, and stores nothing', async () => {
    const { referralId: uncovered } = await t.routeAndWait(t.notCovered);
    await t.client.acceptReferral({ requestId: 'accept-uncovered', referralId: uncovered });
    const denied = await grpcError(t.client.fetchNewcomerData({ requestId: 'fetch-uncovered', referralId: uncovered }));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(await t.jcRunning.ctx.db.selectFrom('newcomer_record').selectAll().where('referral_id', '=', uncovered).execute()).toEqual([]);
    const log = await t.foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', t.notCovered.caseRef).execute();
    expect(log.at(-1)).toMatchObject({ caller_agency_id: t.jobCentreId, purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, outcome: 'denied' });
  });

  it("refuses every call made with another agency's certificate", async () => {
    const before = await t.snapshot();
    const calls = [
      t.clientWithFoCert.listReferrals({ status: 0, pageSize: 0, pageToken: '' }),
      t.clientWithFoCert.getReferral({ referralId }),
      t.clientWithFoCert.acceptReferral({ requestId: 'fo-accept', referralId }),
      t.clientWithFoCert.declineReferral({ requestId: 'fo-decline', referralId, reason: DeclineReason.DECLINE_REASON_OTHER }),
      t.clientWithFoCert.fetchNewcomerData({ requestId: 'fo-fetch', referralId }),
      t.clientWithFoCert.registerCustomer({ requestId: 'fo-reg', referralId, customerNumber: '123A456789', bgNumber: '', benefitsStart: today() }),
      t.clientWithFoCert.getCustomer({ customerId }),
      t.clientWithFoCert.listCustomers({ status: 0, pageSize: 0, pageToken: '' }),
      t.clientWithFoCert.decideLanguageCourseFunding({
        requestId: 'fo-fund',
        customerId,
        assessedLevel: CefrLevel.CEFR_LEVEL_B1,
        targetLevel: CefrLevel.CEFR_LEVEL_B2,
        decision: FundingDecision.FUNDING_DECISION_APPROVED,
        refusalReason: 0,
        courseStart: day(7),
      }),
      t.clientWithFoCert.agreeCooperationPlan({ requestId: 'fo-plan', customerId, planDate: today(), goals: ['x'], steps: [] }),
      t.clientWithFoCert.recordPlacement({ requestId: 'fo-place', customerId, type: PlacementType.PLACEMENT_TYPE_JOB, reference: 'x', startDate: today(), endDate: '' }),
      t.clientWithFoCert.closeCase({ requestId: 'fo-close', customerId, outcome: CaseOutcome.CASE_OUTCOME_OTHER, closedOn: today() }),
    ];
    for (const call of calls) {
      const error = await grpcError(call);
      expect(error.code).toBe(status.PERMISSION_DENIED);
      expect(error.details).toMatch(/authorisation matrix lets only .+ itself call/);
    }
    expect(await t.snapshot()).toEqual(before);
  });
});
