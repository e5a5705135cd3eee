// The Lotsenhaus as an agency of its own: the one-stop desk booted inside the hub with create(),
// against the real PostgreSQL and NATS JetStream, driven through its gRPC API.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { common, events, lotsenhaus, oneStop, oneStopEvents } from '@lotse/contracts';
import { fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import type { NatsClients } from '@lotse/messaging';
import type { AgencyContext, RunningAgency } from '@lotse/runtime';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcError, publishEvent, randomId, startTestNetwork, streamEvents, waitFor, type TestNetwork } from '@lotse/testing';
import { create, type HubDb } from '../src/index.js';
import type { OneStopDb } from '../src/one-stop/index.js';

const { OfferKind, CefrLevel, RecognitionStatus, ReferOnPurpose, AppointmentStatus, CancelReason, OneStopReferralStatus } = oneStop;

const hubId = randomId('lh');
const referrerId = randomId('fo');
const providerId = randomId('mbe');

let net: TestNetwork;
let running: RunningAgency<HubDb>;
let nats: NatsClients;
let desk: PromiseClient<oneStop.OneStopServiceClient>;
let outsider: PromiseClient<oneStop.OneStopServiceClient>;
let hubClient: PromiseClient<lotsenhaus.LotsenhausServiceClient>;

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'one-stop',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: referrerId, agencyType: 'foreign-office' },
    ],
    streams: [providerId],
  });
  nats = net.nats;
  const directoryFile = net.file('directory.json', {
    region: 'Test region',
    municipalities: [{ code: 'koblenz', name: 'Stadt Koblenz' }],
    referrers: [{ agencyId: referrerId, name: 'Test-Ausländerbehörde', agencyType: 'foreign-office' }],
    providers: [{ providerId, name: 'Test MBE', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult'], municipalities: ['koblenz'] }] }],
  });
  const hub = await net.agency({ id: hubId, database: 'lotse_one_stop_test', create: (config) => create({ ...config, directoryFile }) });
  running = hub.running;
  desk = hub.client(oneStop.OneStopServiceClient);
  outsider = hub.client(oneStop.OneStopServiceClient, referrerId);
  // The desk reads the one case timeline as the hub's own deployment (an outside agency sees only its cases).
  hubClient = hub.client(lotsenhaus.LotsenhausServiceClient);
});

afterAll(() => net?.close());

// --- helpers -------------------------------------------------------------------------------------

const db = () => (running.ctx as unknown as AgencyContext<OneStopDb>).db;
const newCaseRef = () => `C-${randomBytes(6).toString('hex').toUpperCase()}`;
const rid = () => `r-${randomBytes(6).toString('hex')}`;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000);

async function counts(caseRef: string) {
  const n = async (table: 'one_stop_intake' | 'one_stop_appointment' | 'one_stop_assessment' | 'one_stop_referral_on' | 'timeline_entry') =>
    Number((await db().selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('case_ref', '=', caseRef).executeTakeFirstOrThrow()).n);
  const outbox = Number(
    (await (db() as any).selectFrom('outbox').select((eb: any) => eb.fn.countAll().as('n')).where('case_ref', '=', caseRef).executeTakeFirstOrThrow()).n,
  );
  return { intake: await n('one_stop_intake'), appointments: await n('one_stop_appointment'), assessments: await n('one_stop_assessment'), referralsOn: await n('one_stop_referral_on'), timeline: await n('timeline_entry'), outbox };
}

async function expectViolation(call: Promise<unknown>, code: status, field: string) {
  const error = await grpcError(call);
  expect(error.code, error.details).toBe(code);
  if (code === status.INVALID_ARGUMENT) expect(fieldViolationsOf(error).map((v) => v.field)).toContain(field);
  else expect(error.details).toContain(field);
  return error;
}

const walkIn = (caseRef: string, requestId = rid()) =>
  desk.recordIntake({ requestId, caseRef, referralId: '', needs: [OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT, OfferKind.OFFER_KIND_JOB_PLACEMENT], noteCodes: ['INTERPRETER_AR'] });

const assessment = (caseRef: string, consentId: string, requestId = rid()) =>
  oneStop.RecordCompetenceAssessmentRequest.fromPartial({
    requestId,
    caseRef,
    consentId,
    qualifications: [{ titleCode: 'ISCO-7411', country: 'SY', recognition: RecognitionStatus.RECOGNITION_STATUS_PARTIAL }],
    workExperience: [{ fieldCode: 'ISCO-7411', years: 6 }],
    languages: [
      { code: 'ar', level: CefrLevel.CEFR_LEVEL_C2 },
      { code: 'de', level: CefrLevel.CEFR_LEVEL_A2 },
    ],
  });

// --- tests ---------------------------------------------------------------------------------------

describe('the Lotsenhaus one-stop desk (real PostgreSQL and NATS JetStream)', () => {
  it('lists the eight partner organisations under one roof and their offers, by kind', async () => {
    const all = await desk.listPartners({ kind: 0 });
    expect(all.partners).toHaveLength(8);
    expect(all.partners.map((p) => p.partnerId)).toEqual(expect.arrayContaining(['caritas-mbe', 'awo-jmd', 'jobcenter-desk', 'agentur-arbeit', 'iq-netzwerk', 'vhs-koblenz', 'hwk-koblenz', 'ihk-koblenz']));
    for (const p of all.partners) expect(p.offers.length).toBeGreaterThan(0);
    const assessors = await desk.listPartners({ kind: OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT });
    expect(assessors.partners.map((p) => p.partnerId).sort()).toEqual(['hwk-koblenz', 'ihk-koblenz', 'vhs-koblenz']);
  });

  it("takes calls only from the Lotsenhaus's own certificate", async () => {
    await expectViolation(outsider.listPartners({ kind: 0 }), status.PERMISSION_DENIED, 'authorisation matrix lets only');
    const caseRef = newCaseRef();
    await expectViolation(outsider.recordIntake({ requestId: rid(), caseRef, referralId: '', needs: [OfferKind.OFFER_KIND_COUNSELLING], noteCodes: [] }), status.PERMISSION_DENIED, 'authorisation matrix lets only');
    expect(await counts(caseRef)).toMatchObject({ intake: 0, timeline: 0, outbox: 0 });
  });

  it('walk-in: intake → appointment → competence assessment → refer on, each step on the one case timeline, thin events in the outbox', async () => {
    const caseRef = newCaseRef();
    const consentId = uuidv7();
    const intake = await walkIn(caseRef);
    expect(intake.intake).toMatchObject({ caseRef, referralId: '', needs: [OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT, OfferKind.OFFER_KIND_JOB_PLACEMENT], noteCodes: ['INTERPRETER_AR'] });

    const at = inDays(3);
    const booked = await desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'hwk-koblenz', offerCode: 'HWK-KOMPETENZ', at });
    expect(booked.appointment).toMatchObject({ caseRef, partnerId: 'hwk-koblenz', offerCode: 'HWK-KOMPETENZ', status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, at });

    const assessed = await desk.recordCompetenceAssessment(assessment(caseRef, consentId));
    expect(assessed.assessment!.languages).toEqual([
      { code: 'ar', level: CefrLevel.CEFR_LEVEL_C2 },
      { code: 'de', level: CefrLevel.CEFR_LEVEL_A2 },
    ]);
    expect(assessed.assessment!.qualifications[0]).toMatchObject({ titleCode: 'ISCO-7411', country: 'SY', recognition: RecognitionStatus.RECOGNITION_STATUS_PARTIAL });
    const read = await desk.getCompetenceAssessment({ caseRef });
    expect(read.assessment!.assessmentId).toBe(assessed.assessment!.assessmentId);

    const referred = await desk.referOn({
      requestId: rid(),
      caseRef,
      purpose: ReferOnPurpose.REFER_ON_PURPOSE_JOB_PLACEMENT,
      partnerId: 'jobcenter-desk',
      consentId,
      consentedRecipients: ['job-centre', 'lotsenhaus'],
      municipality: 'koblenz',
      ageGroup: common.AgeGroup.AGE_GROUP_ADULT,
      ownerAgencyId: referrerId,
    });
    expect(referred.referral).toMatchObject({ caseRef, purpose: ReferOnPurpose.REFER_ON_PURPOSE_JOB_PLACEMENT, partnerId: 'jobcenter-desk' });

    // One timeline, readable by the network through the hub's API.
    const t = await hubClient.getCaseTimeline({ caseRef });
    expect(t.entries.map((e) => e.eventType)).toEqual(['IntakeRecorded', 'AppointmentBooked', 'CompetenceAssessed', 'ReferralRequested']);
    for (const e of t.entries) expect(e.agencyId).toBe(hubId);
    expect(t.entries[3]!.referralId).toBe(referred.referral!.referralId);
    expect(t.caseSummary).toMatchObject({ caseRef, currentAgencyId: hubId });
    // Nothing of the assessment's contents on the timeline.
    expect(t.entries.map((e) => e.summary).join(' ')).not.toMatch(/ISCO|SY|C2/);

    // The events reach the Lotsenhaus's stream; the referral on is one the hub's workflow can route.
    const stored = await waitFor(async () => {
      const all = (await streamEvents(nats, hubId)).filter((e) => e.envelope.caseRef === caseRef);
      return all.length >= 4 ? all : undefined;
    }, 'the desk events on the stream');
    expect(stored.map((e) => e.envelope.eventType)).toEqual(['IntakeRecorded', 'AppointmentBooked', 'CompetenceAssessed', 'ReferralRequested']);
    const assessedEvent = oneStopEvents.CompetenceAssessed.decode(stored[2]!.envelope.payload);
    expect(assessedEvent).toMatchObject({ qualificationCount: 1, workExperienceCount: 1, languageCount: 2 });
    const request = events.ReferralRequested.decode(stored[3]!.envelope.payload);
    expect(request).toMatchObject({
      referralId: referred.referral!.referralId,
      referrerAgencyId: hubId,
      purpose: common.Purpose.PURPOSE_JOB_PLACEMENT,
      consentId,
      recipientType: 'job-centre',
      preferredProviderId: 'jobcenter-koblenz',
      ownerAgencyId: referrerId,
      municipality: 'koblenz',
    });

    // The assessment's write and read are in the audit log, under the consent.
    const audit = await (db() as any).selectFrom('audit_log').selectAll().where('subject_ref', '=', caseRef).orderBy('seq').execute();
    expect(audit.map((a: any) => [a.action, a.purpose, a.legal_basis])).toEqual([
      ['write', common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT, `consent:${consentId}`],
      ['read', common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT, `consent:${consentId}`],
    ]);

    const byCase = await desk.listAppointments({ caseRef, partnerId: '', day: '' });
    expect(byCase.appointments.map((a) => a.appointmentId)).toEqual([booked.appointment!.appointmentId]);
    const berlinDay = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin' }).format(at);
    const byDay = await desk.listAppointments({ caseRef: '', partnerId: 'hwk-koblenz', day: berlinDay });
    expect(byDay.appointments.map((a) => a.appointmentId)).toContain(booked.appointment!.appointmentId);
  });

  it('bad input writes nothing and names the field', async () => {
    const caseRef = newCaseRef();
    // Before the intake: no appointment, assessment or referral on.
    await expectViolation(desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'VHS-EINSTUFUNG', at: inDays(1) }), status.NOT_FOUND, 'case_ref');
    await expectViolation(desk.recordIntake({ requestId: rid(), caseRef, referralId: '', needs: [], noteCodes: ['spricht kaum Deutsch'] }), status.INVALID_ARGUMENT, 'note_codes[0]');
    await expectViolation(desk.recordIntake({ requestId: rid(), caseRef, referralId: '', needs: [], noteCodes: [] }), status.INVALID_ARGUMENT, 'needs');
    await expectViolation(desk.recordIntake({ requestId: rid(), caseRef, referralId: uuidv7(), needs: [OfferKind.OFFER_KIND_COUNSELLING], noteCodes: [] }), status.NOT_FOUND, 'referral_id');
    expect(await counts(caseRef)).toEqual({ intake: 0, appointments: 0, assessments: 0, referralsOn: 0, timeline: 0, outbox: 0 });

    await walkIn(caseRef);
    const before = await counts(caseRef);
    await expectViolation(desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'VHS-EINSTUFUNG', at: new Date(Date.now() - 60_000) }), status.INVALID_ARGUMENT, 'at');
    await expectViolation(desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'VHS-EINSTUFUNG', at: undefined }), status.INVALID_ARGUMENT, 'at');
    await expectViolation(desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'no-such-partner', offerCode: 'VHS-EINSTUFUNG', at: inDays(1) }), status.NOT_FOUND, 'partner_id');
    await expectViolation(desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'HWK-KOMPETENZ', at: inDays(1) }), status.NOT_FOUND, 'offer_code');

    const bad = assessment(caseRef, uuidv7());
    bad.languages = [{ code: 'de', level: 0 }, { code: 'German', level: CefrLevel.CEFR_LEVEL_B1 }];
    bad.workExperience = [{ fieldCode: 'ISCO-7411', years: 61 }];
    bad.qualifications = [{ titleCode: 'Elektriker mit 10 Jahren', country: 'Syria', recognition: 0 }];
    const error = await grpcError(desk.recordCompetenceAssessment(bad));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(error).map((v) => v.field).sort()).toEqual(
      ['languages[0].level', 'languages[1].code', 'qualifications[0].country', 'qualifications[0].recognition', 'qualifications[0].title_code', 'work_experience[0].years'].sort(),
    );
    await expectViolation(desk.recordCompetenceAssessment({ ...assessment(caseRef, ''), consentId: '' }), status.INVALID_ARGUMENT, 'consent_id');

    // A walk-in brings its consent and routing facts; without them nothing is referred.
    const missing = await expectViolation(desk.referOn({ requestId: rid(), caseRef, purpose: ReferOnPurpose.REFER_ON_PURPOSE_QUALIFICATION, partnerId: '', consentId: '', consentedRecipients: [], municipality: '', ageGroup: 0, ownerAgencyId: '' }), status.INVALID_ARGUMENT, 'consent_id');
    expect(fieldViolationsOf(missing).map((v) => v.field)).toEqual(['consent_id', 'municipality', 'age_group', 'consented_recipients', 'owner_agency_id']);
    await expectViolation(desk.referOn({ requestId: rid(), caseRef, purpose: 0, partnerId: '', consentId: '', consentedRecipients: [], municipality: '', ageGroup: 0, ownerAgencyId: '' }), status.INVALID_ARGUMENT, 'purpose');
    await expectViolation(
      desk.referOn({ requestId: rid(), caseRef, purpose: ReferOnPurpose.REFER_ON_PURPOSE_QUALIFICATION, partnerId: 'caritas-mbe', consentId: uuidv7(), consentedRecipients: ['job-centre'], municipality: 'koblenz', ageGroup: common.AgeGroup.AGE_GROUP_ADULT, ownerAgencyId: referrerId }),
      status.INVALID_ARGUMENT,
      'partner_id',
    );
    expect(await counts(caseRef)).toEqual(before);
  });

  it('a retry with the same request id returns the first result and writes nothing more; another request under that id is refused', async () => {
    const caseRef = newCaseRef();
    const intakeId = rid();
    const first = await walkIn(caseRef, intakeId);
    expect(await walkIn(caseRef, intakeId)).toEqual(first);

    const booking = { requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'VHS-EINSTUFUNG', at: inDays(2) };
    const booked = await desk.bookAppointment(booking);
    expect(await desk.bookAppointment(booking)).toEqual(booked);

    const consentId = uuidv7();
    const assessRequest = assessment(caseRef, consentId);
    const assessed = await desk.recordCompetenceAssessment(assessRequest);
    expect(await desk.recordCompetenceAssessment(assessRequest)).toEqual(assessed);

    const cancel = { requestId: rid(), appointmentId: booked.appointment!.appointmentId, reason: CancelReason.CANCEL_REASON_RESCHEDULED };
    const cancelled = await desk.cancelAppointment(cancel);
    expect(cancelled.appointment!.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_CANCELLED);
    expect(await desk.cancelAppointment(cancel)).toEqual(cancelled);
    await expectViolation(desk.cancelAppointment({ ...cancel, requestId: rid() }), status.FAILED_PRECONDITION, 'already cancelled');

    expect(await counts(caseRef)).toMatchObject({ intake: 1, appointments: 1, assessments: 1, timeline: 4, outbox: 4 });
    const audit = await (db() as any).selectFrom('audit_log').select('action').where('subject_ref', '=', caseRef).execute();
    expect(audit).toHaveLength(1);
    await expectViolation(desk.bookAppointment({ ...booking, offerCode: 'VHS-BERUFSSPRACHKURS' }), status.INVALID_ARGUMENT, 'request_id');
    const t = await hubClient.getCaseTimeline({ caseRef });
    expect(t.entries.map((e) => e.eventType)).toEqual(['IntakeRecorded', 'AppointmentBooked', 'CompetenceAssessed', 'AppointmentCancelled']);
  });

  /** The hub routes a competence-assessment referral to the Lotsenhaus itself. */
  const routeToDesk = (referralId: string, caseRef: string, consentId: string) =>
    publishEvent(nats, {
      producer: hubId,
      audience: hubId,
      codec: events.ReferralRouted,
      caseRef,
      message: events.ReferralRouted.fromPartial({
        referralId,
        caseRef,
        referrerAgencyId: providerId,
        providerId: hubId,
        purpose: common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
        consentId,
        ageGroup: common.AgeGroup.AGE_GROUP_ADULT,
        routingReason: 'agreement',
        routedAt: new Date(),
        ownerAgencyId: referrerId,
      }),
    });

  it('closes a referral routed to the desk once the hub says it was withdrawn, but keeps one already taken in', async () => {
    const withdraw = async (referralId: string, caseRef: string) =>
      publishEvent(nats, {
        producer: hubId,
        audience: hubId,
        codec: events.ReferralWithdrawn,
        caseRef,
        message: events.ReferralWithdrawn.fromPartial({ referralId, caseRef, providerId: hubId, consentId: '', withdrawnAt: new Date() }),
      });
    const statusOf = async (referralId: string) => (await desk.listOneStopReferrals({ status: 0 })).referrals.find((r) => r.referralId === referralId)?.status;
    const [waiting, takenIn] = [
      { referralId: uuidv7(), caseRef: newCaseRef() },
      { referralId: uuidv7(), caseRef: newCaseRef() },
    ];
    for (const r of [waiting, takenIn]) await routeToDesk(r.referralId, r.caseRef, uuidv7());
    await waitFor(async () => ((await statusOf(waiting.referralId)) && (await statusOf(takenIn.referralId)) ? true : undefined), 'both referrals at the desk');
    await desk.recordIntake({ requestId: rid(), caseRef: takenIn.caseRef, referralId: takenIn.referralId, needs: [OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT], noteCodes: [] });

    for (const r of [waiting, takenIn]) await withdraw(r.referralId, r.caseRef);
    await waitFor(async () => ((await statusOf(waiting.referralId)) === OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_WITHDRAWN ? true : undefined), 'the withdrawal at the desk');
    const pending = await desk.listOneStopReferrals({ status: OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_PENDING });
    expect(pending.referrals.map((r) => r.referralId)).not.toContain(waiting.referralId);
    expect(await statusOf(takenIn.referralId)).toBe(OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_ACCEPTED);
  });

  it('receives a referral the hub routed to the Lotsenhaus, accepts it at the intake, and refers on under its consent', async () => {
    const caseRef = newCaseRef();
    const referralId = uuidv7();
    const consentId = uuidv7();
    await routeToDesk(referralId, caseRef, consentId);
    const pending = await waitFor(async () => {
      const list = await desk.listOneStopReferrals({ status: OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_PENDING });
      return list.referrals.find((r) => r.referralId === referralId);
    }, 'the routed referral in the desk inbox');
    expect(pending).toMatchObject({ caseRef, referrerAgencyId: providerId, purpose: common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT });

    await desk.recordIntake({ requestId: rid(), caseRef, referralId, needs: [OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT], noteCodes: [] });
    await expectViolation(desk.recordIntake({ requestId: rid(), caseRef, referralId, needs: [OfferKind.OFFER_KIND_COUNSELLING], noteCodes: [] }), status.FAILED_PRECONDITION, 'already had its intake');
    const accepted = await desk.listOneStopReferrals({ status: OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_ACCEPTED });
    expect(accepted.referrals.map((r) => r.referralId)).toContain(referralId);

    // Consent, age group and owner come with the referral; the municipality the desk gives.
    const referred = await desk.referOn({ requestId: rid(), caseRef, purpose: ReferOnPurpose.REFER_ON_PURPOSE_QUALIFICATION, partnerId: 'ihk-koblenz', consentId: '', consentedRecipients: ['job-centre'], municipality: 'koblenz', ageGroup: 0, ownerAgencyId: '' }).catch((e) => e);
    // IHK offers no qualification: the partner must fit the purpose.
    expect(referred.code).toBe(status.INVALID_ARGUMENT);
    const ok = await desk.referOn({ requestId: rid(), caseRef, purpose: ReferOnPurpose.REFER_ON_PURPOSE_QUALIFICATION, partnerId: 'vhs-koblenz', consentId: '', consentedRecipients: ['job-centre'], municipality: 'koblenz', ageGroup: 0, ownerAgencyId: '' });

    const t = await hubClient.getCaseTimeline({ caseRef });
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralReceived', 'ReferralAccepted', 'IntakeRecorded', 'ReferralRequested']);
    const stored = (await streamEvents(nats, hubId)).filter((e) => e.envelope.caseRef === caseRef && e.envelope.eventType === 'ReferralRequested');
    const request = await waitFor(async () => {
      const s = (await streamEvents(nats, hubId)).find((e) => e.envelope.caseRef === caseRef && e.envelope.eventType === 'ReferralRequested');
      return s ? events.ReferralRequested.decode(s.envelope.payload) : undefined;
    }, 'the referral on in the stream');
    expect(stored.length).toBeLessThanOrEqual(1);
    expect(request).toMatchObject({ referralId: ok.referral!.referralId, consentId, ageGroup: common.AgeGroup.AGE_GROUP_ADULT, ownerAgencyId: referrerId, sourceReferralId: referralId, purpose: common.Purpose.PURPOSE_QUALIFICATION });
  });

  it('refuses to record or read an assessment once the consent is withdrawn', async () => {
    const caseRef = newCaseRef();
    const consentId = uuidv7();
    await walkIn(caseRef);
    await desk.recordCompetenceAssessment(assessment(caseRef, consentId));
    await db()
      .insertInto('consent_withdrawal')
      .values({ consent_id: consentId, case_ref: caseRef, owner_agency_id: referrerId, received_by_agency_id: referrerId, withdrawn_at: new Date() })
      .execute();
    const before = await counts(caseRef);
    await expectViolation(desk.recordCompetenceAssessment(assessment(caseRef, consentId)), status.PERMISSION_DENIED, 'withdrawn');
    await expectViolation(desk.getCompetenceAssessment({ caseRef }), status.PERMISSION_DENIED, 'withdrawn');
    expect(await counts(caseRef)).toEqual(before);
  });

  it('erases the competence assessments recorded under a consent when the newcomer withdraws it, and audits the erasure', async () => {
    const caseRef = newCaseRef();
    const consentId = uuidv7();
    await walkIn(caseRef);
    await desk.recordCompetenceAssessment(assessment(caseRef, consentId));
    const held = () => db().selectFrom('one_stop_assessment' as any).select('assessment_id').where('consent_id', '=', consentId).execute();
    expect(await held()).toHaveLength(1);
    await publishEvent(nats, {
      producer: referrerId,
      codec: events.ConsentWithdrawn,
      message: events.ConsentWithdrawn.fromPartial({ consentId, caseRef, withdrawnAt: new Date(), receivedByAgencyId: referrerId, recipientsKnown: [] }),
      caseRef,
    });
    await waitFor(async () => (await held()).length === 0, 'the assessment to be erased', 15_000);
    const erased = await db().selectFrom('audit_log' as any).selectAll().where('subject_ref', '=', caseRef).where('action', '=', 'erase').execute();
    expect(erased).toHaveLength(1);
    expect(erased[0]).toMatchObject({ legal_basis: `Art. 17(1)(b) GDPR: consent:${consentId} withdrawn` });
  });
});
