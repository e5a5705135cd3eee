// The Lotsenhaus as an agency of its own: the one-stop desk booted inside the hub with create(),
// against the real PostgreSQL and NATS JetStream, driven through its gRPC API: its partners, who
// may call it, a walk-in's steps on the one case timeline, bad input and retries.
import { status } from '@grpc/grpc-js';
import { common, events, oneStop, oneStopEvents } from '@lotse/contracts';
import { fieldViolationsOf } from '@lotse/grpc';
import { grpcError, streamEvents, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessment, expectViolation, newCaseRef, rid, startOneStopFixture, type OneStopUnderTest } from './support/hub-fixture.js';

const { OfferKind, CefrLevel, RecognitionStatus, ReferOnPurpose, AppointmentStatus, CancelReason } = oneStop;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000);

let lh: OneStopUnderTest;
beforeAll(async () => {
  lh = await startOneStopFixture();
});
afterAll(() => lh?.stop());

describe('the Lotsenhaus one-stop desk (real PostgreSQL and NATS JetStream)', () => {
  it('lists the eight partner organisations under one roof and their offers, by kind', async () => {
    const all = await lh.desk.listPartners({ kind: 0 });
    expect(all.partners).toHaveLength(8);
    expect(all.partners.map((p) => p.partnerId)).toEqual(expect.arrayContaining(['caritas-mbe', 'awo-jmd', 'jobcenter-desk', 'agentur-arbeit', 'iq-netzwerk', 'vhs-koblenz', 'hwk-koblenz', 'ihk-koblenz']));
    for (const p of all.partners) expect(p.offers.length).toBeGreaterThan(0);
    const assessors = await lh.desk.listPartners({ kind: OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT });
    expect(assessors.partners.map((p) => p.partnerId).sort()).toEqual(['hwk-koblenz', 'ihk-koblenz', 'vhs-koblenz']);
  });

  it("takes calls only from the Lotsenhaus's own certificate", async () => {
    await expectViolation(lh.outsider.listPartners({ kind: 0 }), status.PERMISSION_DENIED, 'authorisation matrix lets only');
    const caseRef = newCaseRef();
    await expectViolation(lh.outsider.recordIntake({ requestId: rid(), caseRef, referralId: '', needs: [OfferKind.OFFER_KIND_COUNSELLING], noteCodes: [] }), status.PERMISSION_DENIED, 'authorisation matrix lets only');
    expect(await lh.counts(caseRef)).toMatchObject({ intake: 0, timeline: 0, outbox: 0 });
  });

  it('walk-in: intake → appointment → competence assessment → refer on, each step on the one case timeline, thin events in the outbox', async () => {
    const caseRef = newCaseRef();
    const consentId = uuidv7();
    const intake = await lh.walkIn(caseRef);
    expect(intake.intake).toMatchObject({ caseRef, referralId: '', needs: [OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT, OfferKind.OFFER_KIND_JOB_PLACEMENT], noteCodes: ['INTERPRETER_AR'] });

    const at = inDays(3);
    const booked = await lh.desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'hwk-koblenz', offerCode: 'HWK-KOMPETENZ', at });
    expect(booked.appointment).toMatchObject({ caseRef, partnerId: 'hwk-koblenz', offerCode: 'HWK-KOMPETENZ', status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, at });

    const assessed = await lh.desk.recordCompetenceAssessment(assessment(caseRef, consentId));
    expect(assessed.assessment!.languages).toEqual([
      { code: 'ar', level: CefrLevel.CEFR_LEVEL_C2 },
      { code: 'de', level: CefrLevel.CEFR_LEVEL_A2 },
    ]);
    expect(assessed.assessment!.qualifications[0]).toMatchObject({ titleCode: 'ISCO-7411', country: 'SY', recognition: RecognitionStatus.RECOGNITION_STATUS_PARTIAL });
    const read = await lh.desk.getCompetenceAssessment({ caseRef });
    expect(read.assessment!.assessmentId).toBe(assessed.assessment!.assessmentId);

    const referred = await lh.desk.referOn({
      requestId: rid(),
      caseRef,
      purpose: ReferOnPurpose.REFER_ON_PURPOSE_JOB_PLACEMENT,
      partnerId: 'jobcenter-desk',
      consentId,
      consentedRecipients: ['job-centre', 'lotsenhaus'],
      municipality: 'koblenz',
      ageGroup: common.AgeGroup.AGE_GROUP_ADULT,
      ownerAgencyId: lh.referrerId,
    });
    expect(referred.referral).toMatchObject({ caseRef, purpose: ReferOnPurpose.REFER_ON_PURPOSE_JOB_PLACEMENT, partnerId: 'jobcenter-desk' });

    // One timeline, readable by the network through the hub's API.
    const t = await lh.hubClient.getCaseTimeline({ caseRef });
    expect(t.entries.map((e) => e.eventType)).toEqual(['IntakeRecorded', 'AppointmentBooked', 'CompetenceAssessed', 'ReferralRequested']);
    for (const e of t.entries) expect(e.agencyId).toBe(lh.hubId);
    expect(t.entries[3]!.referralId).toBe(referred.referral!.referralId);
    expect(t.caseSummary).toMatchObject({ caseRef, currentAgencyId: lh.hubId });
    // Nothing of the assessment's contents on the timeline.
    expect(t.entries.map((e) => e.summary).join(' ')).not.toMatch(/ISCO|SY|C2/);

    // The events reach the Lotsenhaus's stream; the referral on is one the hub's workflow can route.
    const stored = await waitFor(async () => {
      const all = (await streamEvents(lh.nats, lh.hubId)).filter((e) => e.envelope.caseRef === caseRef);
      return all.length >= 4 ? all : undefined;
    }, 'the desk events on the stream');
    expect(stored.map((e) => e.envelope.eventType)).toEqual(['IntakeRecorded', 'AppointmentBooked', 'CompetenceAssessed', 'ReferralRequested']);
    const assessedEvent = oneStopEvents.CompetenceAssessed.decode(stored[2]!.envelope.payload);
    expect(assessedEvent).toMatchObject({ qualificationCount: 1, workExperienceCount: 1, languageCount: 2 });
    const request = events.ReferralRequested.decode(stored[3]!.envelope.payload);
    expect(request).toMatchObject({
      referralId: referred.referral!.referralId,
      referrerAgencyId: lh.hubId,
      purpose: common.Purpose.PURPOSE_JOB_PLACEMENT,
      consentId,
      recipientType: 'job-centre',
      preferredProviderId: 'jobcenter-koblenz',
      ownerAgencyId: lh.referrerId,
      municipality: 'koblenz',
    });

    // The assessment's write and read are in the audit log, under the consent.
    const audit = await (lh.db() as any).selectFrom('audit_log').selectAll().where('subject_ref', '=', caseRef).orderBy('seq').execute();
    expect(audit.map((a: any) => [a.action, a.purpose, a.legal_basis])).toEqual([
      ['write', common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT, `consent:${consentId}`],
      ['read', common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT, `consent:${consentId}`],
    ]);

    const byCase = await lh.desk.listAppointments({ caseRef, partnerId: '', day: '' });
    expect(byCase.appointments.map((a) => a.appointmentId)).toEqual([booked.appointment!.appointmentId]);
    const berlinDay = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin' }).format(at);
    const byDay = await lh.desk.listAppointments({ caseRef: '', partnerId: 'hwk-koblenz', day: berlinDay });
    expect(byDay.appointments.map((a) => a.appointmentId)).toContain(booked.appointment!.appointmentId);
  });

  it('bad input writes nothing and names the field', async () => {
    const caseRef = newCaseRef();
    // Before the intake: no appointment, assessment or referral on.
    await expectViolation(lh.desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'VHS-EINSTUFUNG', at: inDays(1) }), status.NOT_FOUND, 'case_ref');
    await expectViolation(lh.desk.recordIntake({ requestId: rid(), caseRef, referralId: '', needs: [], noteCodes: ['spricht kaum Deutsch'] }), status.INVALID_ARGUMENT, 'note_codes[0]');
    await expectViolation(lh.desk.recordIntake({ requestId: rid(), caseRef, referralId: '', needs: [], noteCodes: [] }), status.INVALID_ARGUMENT, 'needs');
    await expectViolation(lh.desk.recordIntake({ requestId: rid(), caseRef, referralId: uuidv7(), needs: [OfferKind.OFFER_KIND_COUNSELLING], noteCodes: [] }), status.NOT_FOUND, 'referral_id');
    expect(await lh.counts(caseRef)).toEqual({ intake: 0, appointments: 0, assessments: 0, referralsOn: 0, timeline: 0, outbox: 0 });

    await lh.walkIn(caseRef);
    const before = await lh.counts(caseRef);
    await expectViolation(lh.desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'VHS-EINSTUFUNG', at: new Date(Date.now() - 60_000) }), status.INVALID_ARGUMENT, 'at');
    await expectViolation(lh.desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'VHS-EINSTUFUNG', at: undefined }), status.INVALID_ARGUMENT, 'at');
    await expectViolation(lh.desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'no-such-partner', offerCode: 'VHS-EINSTUFUNG', at: inDays(1) }), status.NOT_FOUND, 'partner_id');
    await expectViolation(lh.desk.bookAppointment({ requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'HWK-KOMPETENZ', at: inDays(1) }), status.NOT_FOUND, 'offer_code');

    const bad = assessment(caseRef, uuidv7());
    bad.languages = [{ code: 'de', level: 0 }, { code: 'German', level: CefrLevel.CEFR_LEVEL_B1 }];
    bad.workExperience = [{ fieldCode: 'ISCO-7411', years: 61 }];
    bad.qualifications = [{ titleCode: 'Elektriker mit 10 Jahren', country: 'Syria', recognition: 0 }];
    const error = await grpcError(lh.desk.recordCompetenceAssessment(bad));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(error).map((v) => v.field).sort()).toEqual(
      ['languages[0].level', 'languages[1].code', 'qualifications[0].country', 'qualifications[0].recognition', 'qualifications[0].title_code', 'work_experience[0].years'].sort(),
    );
    await expectViolation(lh.desk.recordCompetenceAssessment({ ...assessment(caseRef, ''), consentId: '' }), status.INVALID_ARGUMENT, 'consent_id');

    // A walk-in brings its consent and routing facts; without them nothing is referred.
    const missing = await expectViolation(lh.desk.referOn({ requestId: rid(), caseRef, purpose: ReferOnPurpose.REFER_ON_PURPOSE_QUALIFICATION, partnerId: '', consentId: '', consentedRecipients: [], municipality: '', ageGroup: 0, ownerAgencyId: '' }), status.INVALID_ARGUMENT, 'consent_id');
    expect(fieldViolationsOf(missing).map((v) => v.field)).toEqual(['consent_id', 'municipality', 'age_group', 'consented_recipients', 'owner_agency_id']);
    await expectViolation(lh.desk.referOn({ requestId: rid(), caseRef, purpose: 0, partnerId: '', consentId: '', consentedRecipients: [], municipality: '', ageGroup: 0, ownerAgencyId: '' }), status.INVALID_ARGUMENT, 'purpose');
    await expectViolation(
      lh.desk.referOn({ requestId: rid(), caseRef, purpose: ReferOnPurpose.REFER_ON_PURPOSE_QUALIFICATION, partnerId: 'caritas-mbe', consentId: uuidv7(), consentedRecipients: ['job-centre'], municipality: 'koblenz', ageGroup: common.AgeGroup.AGE_GROUP_ADULT, ownerAgencyId: lh.referrerId }),
      status.INVALID_ARGUMENT,
      'partner_id',
    );
    expect(await lh.counts(caseRef)).toEqual(before);
  });

  it('a retry with the same request id returns the first result and writes nothing more; another request under that id is refused', async () => {
    const caseRef = newCaseRef();
    const intakeId = rid();
    const first = await lh.walkIn(caseRef, intakeId);
    expect(await lh.walkIn(caseRef, intakeId)).toEqual(first);

    const booking = { requestId: rid(), caseRef, partnerId: 'vhs-koblenz', offerCode: 'VHS-EINSTUFUNG', at: inDays(2) };
    const booked = await lh.desk.bookAppointment(booking);
    expect(await lh.desk.bookAppointment(booking)).toEqual(booked);

    const consentId = uuidv7();
    const assessRequest = assessment(caseRef, consentId);
    const assessed = await lh.desk.recordCompetenceAssessment(assessRequest);
    expect(await lh.desk.recordCompetenceAssessment(assessRequest)).toEqual(assessed);

    const cancel = { requestId: rid(), appointmentId: booked.appointment!.appointmentId, reason: CancelReason.CANCEL_REASON_RESCHEDULED };
    const cancelled = await lh.desk.cancelAppointment(cancel);
    expect(cancelled.appointment!.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_CANCELLED);
    expect(await lh.desk.cancelAppointment(cancel)).toEqual(cancelled);
    await expectViolation(lh.desk.cancelAppointment({ ...cancel, requestId: rid() }), status.FAILED_PRECONDITION, 'already cancelled');

    expect(await lh.counts(caseRef)).toMatchObject({ intake: 1, appointments: 1, assessments: 1, timeline: 4, outbox: 4 });
    const audit = await (lh.db() as any).selectFrom('audit_log').select('action').where('subject_ref', '=', caseRef).execute();
    expect(audit).toHaveLength(1);
    await expectViolation(lh.desk.bookAppointment({ ...booking, offerCode: 'VHS-BERUFSSPRACHKURS' }), status.INVALID_ARGUMENT, 'request_id');
    const t = await lh.hubClient.getCaseTimeline({ caseRef });
    expect(t.entries.map((e) => e.eventType)).toEqual(['IntakeRecorded', 'AppointmentBooked', 'CompetenceAssessed', 'AppointmentCancelled']);
  });

});
