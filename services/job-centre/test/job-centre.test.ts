import { status } from '@grpc/grpc-js';
import { common, envelope, events, eventTypeOf, foreignOffice, jobCentre as jc, jobCentreEvents as jce } from '@lotse/contracts';
import { berlinDate, fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { durableNameFor, type NatsClients } from '@lotse/messaging';
import { subjectOf, type RunningAgency } from '@lotse/runtime';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The real foreign office, the owner of the newcomer's data (not a dependency of this package).
import { create as createForeignOffice, type ForeignOfficeDb } from '@lotse/foreign-office';
import { create, type JobCentreDb } from '../src/index.js';
import { announceReferralWith, grpcError, publishEvent, randomId, startTestNetwork, streamEvents, waitConsumed, waitFor, type TestNetwork } from '@lotse/testing';

const { DataCategory, Purpose, AgeGroup, DeclineReason } = common;
const { IntakeStatus, CustomerStatus, CefrLevel, FundingDecision, FundingRefusalReason, StepResponsible, PlacementType, CaseOutcome } = jc;

const hubId = randomId('hub');
const foId = randomId('fo');
const jobCentreId = randomId('jobcenter');
// The migration service that refers on: only an id here, it holds no data the job centre needs.
const mbeId = randomId('mbe');
const logLevel = process.env.LOG_LEVEL ?? 'silent';

let net: TestNetwork;
let foRunning: RunningAgency<ForeignOfficeDb>;
let jcRunning: RunningAgency<JobCentreDb>;
let nats: NatsClients;
let foClient: PromiseClient<foreignOffice.ForeignOfficeServiceClient>;
let client: PromiseClient<jc.JobCentreServiceClient>;
let clientWithFoCert: PromiseClient<jc.JobCentreServiceClient>;

// Newcomers registered at the foreign office.
const covered = { caseRef: '', consentId: '' };
const notCovered = { caseRef: '', consentId: '' };

// Dates as the services judge them: the calendar in Germany (berlinDate), not UTC's.
const day = (offset = 0) => berlinDate(new Date(Date.now() + offset * 86_400_000));
const today = () => day(0);

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'job-centre',
    members: [
      { id: foId, agencyType: 'foreign-office' },
      { id: jobCentreId, agencyType: 'job-centre' },
    ],
    streams: [hubId],
  });
  nats = net.nats;
  const fo = await net.agency({
    id: foId,
    database: 'lotse_fo_test',
    create: (config) => createForeignOffice({ ...config, logLevel: 'silent', hubAgencyId: hubId }, { logger: createLogger(foId, { level: logLevel }) }),
  });
  foRunning = fo.running;
  const jobCentre = await net.agency({
    id: jobCentreId,
    database: 'lotse_jc_test',
    create: (config) =>
      create(
        { ...config, logLevel: 'silent', hubAgencyId: hubId, peers: new Map([[foId, fo.address]]), dataOwnerId: foId },
        { logger: createLogger(jobCentreId, { level: logLevel }) },
      ),
  });
  jcRunning = jobCentre.running;
  foClient = fo.client(foreignOffice.ForeignOfficeServiceClient);
  client = jobCentre.client(jc.JobCentreServiceClient);
  clientWithFoCert = jobCentre.client(jc.JobCentreServiceClient, foId);

  Object.assign(
    covered,
    await registerWithConsent('reg-covered', { givenNames: 'Olena', familyName: 'Kovalenko' }, ['migration-services', 'job-centre'], [
      Purpose.PURPOSE_MIGRATION_COUNSELLING,
      Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
    ]),
  );
  Object.assign(notCovered, await registerWithConsent('reg-not-covered', { givenNames: 'Reza', familyName: 'Ahmadi' }, ['migration-services'], [Purpose.PURPOSE_MIGRATION_COUNSELLING]));
});

afterAll(() => net?.close());

// --- helpers -------------------------------------------------------------------------------------

async function registerWithConsent(requestId: string, names: { givenNames: string; familyName: string }, recipients: string[], purposes: common.Purpose[]) {
  const { newcomer } = await foClient.registerNewcomer({
    requestId,
    ...names,
    birthDate: '1988-09-03',
    nationality: 'UA',
    languages: ['uk', 'ru'],
    municipality: 'andernach',
    residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_TEMPORARY_PROTECTION,
  });
  const { consent } = await foClient.recordConsent(
    foreignOffice.RecordConsentRequest.fromPartial({
      requestId: `${requestId}-consent`,
      newcomerId: newcomer!.newcomerId,
      recipients,
      purposes,
      dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_RESIDENCE_STATUS],
      textVersion: 'mbe-einwilligung-2026-01',
      language: 'uk',
      interpreterUsed: false,
    }),
  );
  return { caseRef: newcomer!.caseRef, consentId: consent!.consentId };
}

/** Plays the hub: a ReferralRouted addressed to this job centre, referred on by a migration service. */
async function route(
  newcomer: { caseRef: string; consentId: string },
  ids: { referralId?: string; eventId?: string; msgId?: string; purpose?: common.Purpose } = {},
) {
  const referralId = ids.referralId ?? uuidv7();
  const eventId = await publishEvent(nats, {
    producer: hubId,
    audience: jobCentreId,
    codec: events.ReferralRouted,
    message: events.ReferralRouted.fromPartial({
      referralId,
      caseRef: newcomer.caseRef,
      referrerAgencyId: mbeId,
      providerId: jobCentreId,
      purpose: ids.purpose ?? Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
      consentId: newcomer.consentId,
      ageGroup: AgeGroup.AGE_GROUP_ADULT,
      routingReason: 'agreement',
      routedAt: new Date(),
    }),
    caseRef: newcomer.caseRef,
    eventId: ids.eventId,
    msgId: ids.msgId,
  });
  // The owner discloses only to the agency the hub says a referral is with; these tests play
  // the hub's part in telling it.
  await announceReferralWith(
    nats,
    { hubId, ownerId: foId, caseRef: newcomer.caseRef, providerId: jobCentreId, referralId, purpose: ids.purpose ?? Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION },
    foRunning.ctx.db,
  );
  return { referralId, eventId };
}

async function intakeRow(referralId: string) {
  return jcRunning.ctx.db.selectFrom('received_referral').selectAll().where('referral_id', '=', referralId).executeTakeFirst();
}

async function routeAndWait(newcomer: { caseRef: string; consentId: string }, purpose?: common.Purpose) {
  const routed = await route(newcomer, { purpose });
  await waitFor(() => intakeRow(routed.referralId), `referral ${routed.referralId} in the intake`);
  return routed;
}

/** An accepted referral registered as a customer, for the bad-input cases. */
async function anotherCustomer(requestId: string, customerNumber: string) {
  const { referralId } = await routeAndWait(notCovered);
  await client.acceptReferral({ requestId: `${requestId}-accept`, referralId });
  const { customer } = await client.registerCustomer({ requestId, referralId, customerNumber, bgNumber: '', benefitsStart: day(-10) });
  return customer!;
}

/** Everything the job centre has written about its cases: rows of every table and outbox events. */
async function snapshot() {
  const db = jcRunning.ctx.db;
  const count = async (table: keyof JobCentreDb | 'outbox') => Number((await db.selectFrom(table as any).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return {
    customers: await count('customer'),
    fundings: await count('language_course_funding'),
    plans: await count('cooperation_plan'),
    steps: await count('cooperation_plan_step'),
    placements: await count('placement'),
    outbox: await count('outbox'),
    customerRows: await db.selectFrom('customer').selectAll().orderBy('customer_id').execute(),
  };
}

/** Events of one type in the job centre's stream, decoded, for one case. */
async function streamed<T>(codec: { decode(b: Uint8Array): T }, caseRef: string) {
  const stored = await streamEvents(nats, jobCentreId);
  return stored
    .filter((e) => e.subject === subjectOf(jobCentreId, codec) && e.envelope.caseRef === caseRef)
    .map((e) => ({ envelope: e.envelope, message: codec.decode(e.envelope.payload), raw: Buffer.from(e.envelope.payload) }));
}

async function waitForStreamed<T>(codec: { decode(b: Uint8Array): T }, caseRef: string, filter: (m: T) => boolean = () => true) {
  return waitFor(async () => {
    const found = (await streamed(codec, caseRef)).filter((e) => filter(e.message));
    return found.length ? found : undefined;
  }, `${eventTypeOf(codec)} for ${caseRef} in the job centre's stream`);
}

async function outboxCount(eventType: string) {
  const rows = await jcRunning.ctx.db.selectFrom('outbox' as any).select('event_id').where('event_type', '=', eventType).execute();
  return rows.length;
}

async function expectInvalid(call: Promise<unknown>, fields: string[]) {
  const error = await grpcError(call);
  expect(error.code, error.details).toBe(status.INVALID_ARGUMENT);
  expect(fieldViolationsOf(error).map((v) => v.field)).toEqual(fields);
  return error;
}

const jcDurable = () => durableNameFor(jobCentreId, `lotse.${hubId}.*.${jobCentreId}`);

// --- tests ---------------------------------------------------------------------------------------

describe('job centre (real PostgreSQL, NATS JetStream and foreign office)', () => {
  let referralId: string;
  let customerId: string;

  it('takes a routed referral into its intake as pending and tells the hub once, even when the event comes again', async () => {
    const routed = await route(covered);
    referralId = routed.referralId;

    const listed = await waitFor(async () => {
      const { referrals } = await client.listReferrals({ status: IntakeStatus.INTAKE_STATUS_PENDING, pageSize: 0, pageToken: '' });
      return referrals.find((r) => r.referralId === referralId);
    }, 'the referral in ListReferrals');
    expect(listed).toMatchObject({
      referralId,
      caseRef: covered.caseRef,
      referrerAgencyId: mbeId,
      purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
      status: IntakeStatus.INTAKE_STATUS_PENDING,
      dataFetched: false,
      customerId: '',
    });

    const received = await waitForStreamed(events.ReferralReceived, covered.caseRef);
    expect(received.map((e) => e.message)).toEqual([{ referralId, caseRef: covered.caseRef, providerId: jobCentreId }]);
    expect(received[0]!.envelope).toMatchObject({ producerAgencyId: jobCentreId, eventType: 'ReferralReceived' });

    // Redelivered: the same event past the broker's duplicate window, and a second event of the same routing.
    await route(covered, { referralId, eventId: routed.eventId, msgId: uuidv7() });
    await route(covered, { referralId });
    await waitConsumed(nats, hubId, jcDurable());
    const all = await client.listReferrals({ status: 0, pageSize: 0, pageToken: '' });
    expect(all.referrals.filter((r) => r.referralId === referralId)).toHaveLength(1);
    expect(await streamed(events.ReferralReceived, covered.caseRef)).toHaveLength(1);
  });

  it('accepts the referral once: a retry returns the first result, a second acceptance is refused', async () => {
    const early = await grpcError(client.fetchNewcomerData({ requestId: 'fetch-early', referralId }));
    expect(early.code).toBe(status.FAILED_PRECONDITION);
    const earlyCustomer = await grpcError(client.registerCustomer({ requestId: 'reg-early', referralId, customerNumber: '123A456789', bgNumber: '', benefitsStart: day(-30) }));
    expect(earlyCustomer.code).toBe(status.FAILED_PRECONDITION);

    const first = await client.acceptReferral({ requestId: 'accept-1', referralId });
    expect(first.referral).toMatchObject({ referralId, status: IntakeStatus.INTAKE_STATUS_ACCEPTED });
    expect(await client.acceptReferral({ requestId: 'accept-1', referralId })).toEqual(first);
    expect((await grpcError(client.acceptReferral({ requestId: 'accept-2', referralId }))).code).toBe(status.FAILED_PRECONDITION);

    const accepted = await waitForStreamed(events.ReferralAccepted, covered.caseRef);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.message).toMatchObject({ referralId, caseRef: covered.caseRef, providerId: jobCentreId });
  });

  it('fetches the data consented for labour-market integration from the foreign office, which logs the disclosure', async () => {
    const { newcomer } = await client.fetchNewcomerData({ requestId: 'fetch-1', referralId });
    expect(newcomer).toEqual({
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_RESIDENCE_STATUS],
      givenNames: 'Olena',
      familyName: 'Kovalenko',
      birthDate: '1988-09-03',
      nationality: '',
      languages: ['uk', 'ru'],
      municipality: '',
      residenceStatus: 'RESIDENCE_STATUS_TEMPORARY_PROTECTION',
      legalBasis: `consent:${covered.consentId}`,
      ownerAgencyId: foId,
    });

    const log = await foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', covered.caseRef).execute();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ caller_agency_id: jobCentreId, purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, outcome: 'granted' });

    const received = await waitForStreamed(events.NewcomerDataReceived, covered.caseRef);
    expect(received.map((e) => e.message)).toEqual([
      { referralId, caseRef: covered.caseRef, providerId: jobCentreId, ownerAgencyId: foId, categories: newcomer!.categories },
    ]);

    // A retry is answered from the first result: no second disclosure.
    expect((await client.fetchNewcomerData({ requestId: 'fetch-1', referralId })).newcomer).toEqual(newcomer);
    expect(await foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', covered.caseRef).execute()).toHaveLength(1);
    expect((await client.getReferral({ referralId })).referral?.dataFetched).toBe(true);
  });

  it('registers the customer from the accepted referral, refusing bad numbers and a second registration', async () => {
    const before = await snapshot();
    await expectInvalid(
      client.registerCustomer({ requestId: 'reg-bad', referralId, customerNumber: '12345', bgNumber: '12345XX1', benefitsStart: '2026-02-30' }),
      ['customer_number', 'bg_number', 'benefits_start'],
    );
    const unknown = await grpcError(client.registerCustomer({ requestId: 'reg-unknown', referralId: 'no-such-referral', customerNumber: '123A456789', bgNumber: '', benefitsStart: day(-30) }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toMatch(/^referral_id/);
    expect(await snapshot()).toEqual(before);

    const request = { requestId: 'reg-1', referralId, customerNumber: '123A456789', bgNumber: '07312BG0012345', benefitsStart: day(-30) };
    const { customer } = await client.registerCustomer(request);
    expect(customer).toMatchObject({
      referralId,
      caseRef: covered.caseRef,
      customerNumber: '123A456789',
      bgNumber: '07312BG0012345',
      benefitsStart: day(-30),
      status: CustomerStatus.CUSTOMER_STATUS_ACTIVE,
      outcome: CaseOutcome.CASE_OUTCOME_UNSPECIFIED,
    });
    customerId = customer!.customerId;
    expect(await client.registerCustomer(request)).toEqual({ customer });
    expect((await grpcError(client.registerCustomer({ ...request, requestId: 'reg-2' }))).code).toBe(status.ALREADY_EXISTS);
    // The same id for a different request is refused rather than answered with the first result.
    await expectInvalid(client.registerCustomer({ ...request, customerNumber: '999Z999999' }), ['request_id']);

    const registered = await waitForStreamed(jce.CustomerRegistered, covered.caseRef);
    expect(registered).toHaveLength(1);
    expect(registered[0]!.message).toEqual({ caseRef: covered.caseRef, jobCentreId, customerId, referralId, registeredAt: expect.any(Date) });
    // Thin: neither the customer number nor the BG number travels.
    expect(registered[0]!.raw.includes('123A456789')).toBe(false);
    expect(registered[0]!.raw.includes('07312BG0012345')).toBe(false);
    expect((await client.getReferral({ referralId })).referral?.customerId).toBe(customerId);
  });

  it('decides language-course funding by the CEFR rule; an unknown customer is NOT_FOUND and nothing is written', async () => {
    const before = await snapshot();
    const unknown = await grpcError(
      client.decideLanguageCourseFunding({
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
      client.decideLanguageCourseFunding({
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
    expect(await snapshot()).toEqual(before);

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

    const decided = await waitForStreamed(jce.LanguageCourseFundingDecided, covered.caseRef, (m) => m.decisionId === approved.funding!.decisionId);
    expect(decided).toHaveLength(1);
    expect(decided[0]!.message).toEqual({
      caseRef: covered.caseRef,
      jobCentreId,
      customerId,
      decisionId: approved.funding!.decisionId,
      assessedLevel: CefrLevel.CEFR_LEVEL_A2,
      targetLevel: CefrLevel.CEFR_LEVEL_B1,
      decision: FundingDecision.FUNDING_DECISION_APPROVED,
      refusalReason: 0,
      courseStart: day(14),
      decidedAt: expect.any(Date),
    });
    expect(await outboxCount('LanguageCourseFundingDecided')).toBe(2);
  });

  it('agrees a cooperation plan; steps dated before the plan are INVALID_ARGUMENT naming steps[i].due_date, nothing written', async () => {
    const goals = ['Deutsch auf B1 bis Jahresende', 'Einstieg in die Pflege'];
    const steps: jc.PlanStep[] = [
      { description: 'Berufssprachkurs B1 besuchen', dueDate: day(90), responsible: StepResponsible.STEP_RESPONSIBLE_CUSTOMER, partnerAgencyId: '' },
      { description: 'Kompetenzfeststellung im Lotsenhaus', dueDate: day(30), responsible: StepResponsible.STEP_RESPONSIBLE_PARTNER, partnerAgencyId: 'lotsenhaus' },
      { description: 'Anerkennung des Abschlusses prüfen', dueDate: day(45), responsible: StepResponsible.STEP_RESPONSIBLE_JOB_CENTRE, partnerAgencyId: '' },
    ];
    const before = await snapshot();
    const early = steps.map((s, i) => (i === 1 ? { ...s, dueDate: day(-1) } : s));
    const error = await expectInvalid(client.agreeCooperationPlan({ requestId: 'plan-early', customerId, planDate: today(), goals, steps: early }), ['steps[1].due_date']);
    expect(error.details).toMatch(/steps\[1\]\.due_date: must not be before the plan date/);
    await expectInvalid(
      client.agreeCooperationPlan({
        requestId: 'plan-bad',
        customerId,
        planDate: day(1),
        goals: [],
        steps: [{ description: '', dueDate: day(5), responsible: StepResponsible.STEP_RESPONSIBLE_PARTNER, partnerAgencyId: '' }],
      }),
      ['plan_date', 'goals', 'steps[0].description', 'steps[0].partner_agency_id'],
    );
    const unknown = await grpcError(client.agreeCooperationPlan({ requestId: 'plan-unknown', customerId: 'nobody', planDate: today(), goals, steps }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(await snapshot()).toEqual(before);

    const { plan } = await client.agreeCooperationPlan({ requestId: 'plan-1', customerId, planDate: today(), goals, steps });
    expect(plan).toMatchObject({ customerId, version: 1, planDate: today(), goals, steps });

    const agreed = await waitForStreamed(jce.CooperationPlanAgreed, covered.caseRef);
    expect(agreed).toHaveLength(1);
    expect(agreed[0]!.message).toEqual({
      caseRef: covered.caseRef,
      jobCentreId,
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
    const before = await snapshot();
    await expectInvalid(
      client.recordPlacement({ requestId: 'place-bad', customerId, type: 0, reference: '', startDate: day(20), endDate: day(10) }),
      ['type', 'reference', 'end_date'],
    );
    expect(await snapshot()).toEqual(before);

    const { placement } = await client.recordPlacement({
      requestId: 'place-1',
      customerId,
      type: PlacementType.PLACEMENT_TYPE_JOB,
      reference: 'BNR-48213377',
      startDate: today(),
      endDate: '',
    });
    expect(placement).toMatchObject({ customerId, type: PlacementType.PLACEMENT_TYPE_JOB, reference: 'BNR-48213377', startDate: today(), endDate: '' });

    const recorded = await waitForStreamed(jce.PlacementRecorded, covered.caseRef);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.message).toEqual({
      caseRef: covered.caseRef,
      jobCentreId,
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
    const before = await snapshot();
    const error = await expectInvalid(client.closeCase({ requestId: 'close-none', customerId, outcome: 0, closedOn: today() }), ['outcome']);
    expect(error.details).toMatch(/^outcome: must be set/);
    await expectInvalid(client.closeCase({ requestId: 'close-early', customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: day(-31) }), ['closed_on']);
    await expectInvalid(client.closeCase({ requestId: 'close-future', customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: day(1) }), ['closed_on']);
    expect(await snapshot()).toEqual(before);

    const { customer } = await client.closeCase({ requestId: 'close-1', customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today() });
    expect(customer).toMatchObject({ customerId, status: CustomerStatus.CUSTOMER_STATUS_CLOSED, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today() });
    expect(await client.closeCase({ requestId: 'close-1', customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today() })).toEqual({ customer });
    expect((await grpcError(client.closeCase({ requestId: 'close-2', customerId, outcome: CaseOutcome.CASE_OUTCOME_OTHER, closedOn: today() }))).code).toBe(
      status.FAILED_PRECONDITION,
    );
    const late = await grpcError(
      client.recordPlacement({ requestId: 'place-late', customerId, type: PlacementType.PLACEMENT_TYPE_JOB, reference: 'X-1', startDate: today(), endDate: '' }),
    );
    expect(late.code).toBe(status.FAILED_PRECONDITION);

    const closed = await waitForStreamed(jce.JobCentreCaseClosed, covered.caseRef);
    expect(closed.map((e) => e.message)).toEqual([
      { caseRef: covered.caseRef, jobCentreId, customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today(), closedAt: expect.any(Date) },
    ]);

    const journey = (await streamEvents(nats, jobCentreId)).filter((e) => e.envelope.caseRef === covered.caseRef).map((e) => e.envelope.eventType);
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

    const { customer: got, fundingDecisions, cooperationPlans, placements } = await client.getCustomer({ customerId });
    expect(got).toEqual(customer);
    expect(fundingDecisions).toHaveLength(2);
    expect(cooperationPlans.map((p) => p.version)).toEqual([1]);
    expect(placements).toHaveLength(1);
    const closedList = await client.listCustomers({ status: CustomerStatus.CUSTOMER_STATUS_CLOSED, pageSize: 0, pageToken: '' });
    expect(closedList.customers.map((c) => c.customerId)).toContain(customerId);
  });

  it('does not close as employed without a recorded job', async () => {
    const other = await anotherCustomer('reg-other', '555B000111');
    const before = await snapshot();
    const error = await grpcError(client.closeCase({ requestId: 'close-other', customerId: other.customerId, outcome: CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today() }));
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(error.details).toMatch(/PLACEMENT_TYPE_JOB/);
    expect(await snapshot()).toEqual(before);
    const { customer } = await client.closeCase({ requestId: 'close-other-2', customerId: other.customerId, outcome: CaseOutcome.CASE_OUTCOME_MOVED_AWAY, closedOn: today() });
    expect(customer?.outcome).toBe(CaseOutcome.CASE_OUTCOME_MOVED_AWAY);
  });

  it('declines a pending referral only with a coded reason, and declines at once a purpose it does not serve', async () => {
    const { referralId: other } = await routeAndWait(covered);
    await expectInvalid(client.declineReferral({ requestId: 'decline-0', referralId: other, reason: 0 }), ['reason']);
    expect((await intakeRow(other))!.status).toBe(IntakeStatus.INTAKE_STATUS_PENDING);

    const { referral } = await client.declineReferral({ requestId: 'decline-1', referralId: other, reason: DeclineReason.DECLINE_REASON_AREA_NOT_COVERED });
    expect(referral).toMatchObject({ status: IntakeStatus.INTAKE_STATUS_DECLINED, declineReason: DeclineReason.DECLINE_REASON_AREA_NOT_COVERED });
    await waitForStreamed(events.ReferralDeclined, covered.caseRef, (m) => m.referralId === other);
    expect((await grpcError(client.registerCustomer({ requestId: 'reg-declined', referralId: other, customerNumber: '123A456789', bgNumber: '', benefitsStart: today() }))).code).toBe(
      status.FAILED_PRECONDITION,
    );

    const { referralId: misrouted } = await routeAndWait(covered, Purpose.PURPOSE_MIGRATION_COUNSELLING);
    expect(await intakeRow(misrouted)).toMatchObject({ status: IntakeStatus.INTAKE_STATUS_DECLINED, decline_reason: DeclineReason.DECLINE_REASON_TARGET_GROUP_NOT_COVERED });
    const declined = await waitForStreamed(events.ReferralDeclined, covered.caseRef, (m) => m.referralId === misrouted);
    expect(declined[0]!.message.reason).toBe(DeclineReason.DECLINE_REASON_TARGET_GROUP_NOT_COVERED);
  });

  it('gets PERMISSION_DENIED from the owner when no consent covers labour-market integration at the job centre, and stores nothing', async () => {
    const { referralId: uncovered } = await routeAndWait(notCovered);
    await client.acceptReferral({ requestId: 'accept-uncovered', referralId: uncovered });
    const denied = await grpcError(client.fetchNewcomerData({ requestId: 'fetch-uncovered', referralId: uncovered }));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(await jcRunning.ctx.db.selectFrom('newcomer_record').selectAll().where('referral_id', '=', uncovered).execute()).toEqual([]);
    const log = await foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', notCovered.caseRef).execute();
    expect(log.at(-1)).toMatchObject({ caller_agency_id: jobCentreId, purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, outcome: 'denied' });
  });

  it("refuses every call made with another agency's certificate", async () => {
    const before = await snapshot();
    const calls = [
      clientWithFoCert.listReferrals({ status: 0, pageSize: 0, pageToken: '' }),
      clientWithFoCert.getReferral({ referralId }),
      clientWithFoCert.acceptReferral({ requestId: 'fo-accept', referralId }),
      clientWithFoCert.declineReferral({ requestId: 'fo-decline', referralId, reason: DeclineReason.DECLINE_REASON_OTHER }),
      clientWithFoCert.fetchNewcomerData({ requestId: 'fo-fetch', referralId }),
      clientWithFoCert.registerCustomer({ requestId: 'fo-reg', referralId, customerNumber: '123A456789', bgNumber: '', benefitsStart: today() }),
      clientWithFoCert.getCustomer({ customerId }),
      clientWithFoCert.listCustomers({ status: 0, pageSize: 0, pageToken: '' }),
      clientWithFoCert.decideLanguageCourseFunding({
        requestId: 'fo-fund',
        customerId,
        assessedLevel: CefrLevel.CEFR_LEVEL_B1,
        targetLevel: CefrLevel.CEFR_LEVEL_B2,
        decision: FundingDecision.FUNDING_DECISION_APPROVED,
        refusalReason: 0,
        courseStart: day(7),
      }),
      clientWithFoCert.agreeCooperationPlan({ requestId: 'fo-plan', customerId, planDate: today(), goals: ['x'], steps: [] }),
      clientWithFoCert.recordPlacement({ requestId: 'fo-place', customerId, type: PlacementType.PLACEMENT_TYPE_JOB, reference: 'x', startDate: today(), endDate: '' }),
      clientWithFoCert.closeCase({ requestId: 'fo-close', customerId, outcome: CaseOutcome.CASE_OUTCOME_OTHER, closedOn: today() }),
    ];
    for (const call of calls) {
      const error = await grpcError(call);
      expect(error.code).toBe(status.PERMISSION_DENIED);
      expect(error.details).toMatch(/authorisation matrix lets only .+ itself call/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('keeps personal data out of every event it produced', async () => {
    const stored = (await streamEvents(nats, jobCentreId)).map((e) => Buffer.from(envelope.Envelope.encode(e.envelope).finish()));
    expect(stored.length).toBeGreaterThan(10);
    for (const bytes of stored) {
      for (const personal of ['Olena', 'Kovalenko', 'Reza', 'Ahmadi', '1988-09-03', '123A456789', '555B000111']) expect(bytes.includes(personal)).toBe(false);
    }
  });
});
