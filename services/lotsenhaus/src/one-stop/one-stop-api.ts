import { actorOfCall, appendAudit } from '@lotse/audit';
import { common, events, oneStop, oneStopEvents } from '@lotse/contracts';
import { channel, requireFlow } from '@lotse/flows';
import {
  FailedPreconditionError,
  NotFoundError,
  once,
  PermissionDeniedError,
  requireOwnCaseworker as requireOwn,
  setCaseRef,
  Violations,
  type AsyncHandlers,
  type CallContext,
} from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import { sql, type Selectable, type Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { HubDb } from '../db/schema.js';
import { toPartnerMessage, type Partners } from './partners.js';
import type { OneStopAppointmentTable, OneStopAssessmentTable, OneStopDb, OneStopReferralTable } from './schema.js';
import { consentWithdrawn, indexDeskCase, lockRoutedStatus, recordDeskStep, routingFacts } from '../desk-port.js';

const S = oneStop.OneStopServiceService;
const { OfferKind, AppointmentStatus, OneStopReferralStatus: RS, ReferOnPurpose, CefrLevel, RecognitionStatus, CancelReason } = oneStop;
type Trx = Transaction<OneStopDb>;

const codePattern = /^[A-Z][A-Z0-9_-]{1,31}$/;
const codeExpected = 'a code of 2 to 32 capital letters, digits, _ or - (no free text)';
const caseRefPattern = /^[A-Za-z0-9._:-]{1,64}$/;
const maxEntries = 20;

const kindName = (k: number) => oneStop.offerKindToJSON(k).replace('OFFER_KIND_', '').toLowerCase().replace(/_/g, ' ');
const referOnPurposes: Record<number, { purpose: common.Purpose; kind: oneStop.OfferKind; recipientType: string; label: string }> = {
  [ReferOnPurpose.REFER_ON_PURPOSE_QUALIFICATION]: { purpose: common.Purpose.PURPOSE_QUALIFICATION, kind: OfferKind.OFFER_KIND_QUALIFICATION, recipientType: 'job-centre', label: 'qualification' },
  [ReferOnPurpose.REFER_ON_PURPOSE_JOB_PLACEMENT]: { purpose: common.Purpose.PURPOSE_JOB_PLACEMENT, kind: OfferKind.OFFER_KIND_JOB_PLACEMENT, recipientType: 'job-centre', label: 'job placement' },
};

function toAppointment(row: Selectable<OneStopAppointmentTable>): oneStop.Appointment {
  return oneStop.Appointment.fromPartial({
    appointmentId: row.appointment_id,
    caseRef: row.case_ref,
    partnerId: row.partner_id,
    offerCode: row.offer_code,
    at: row.at,
    status: row.status,
    cancelReason: row.cancel_reason,
    bookedAt: row.booked_at,
    cancelledAt: row.cancelled_at ?? undefined,
  });
}

function toAssessment(row: Selectable<OneStopAssessmentTable>): oneStop.CompetenceAssessment {
  return oneStop.CompetenceAssessment.fromPartial({
    assessmentId: row.assessment_id,
    caseRef: row.case_ref,
    consentId: row.consent_id,
    qualifications: row.qualifications,
    workExperience: row.work_experience,
    languages: row.languages,
    assessedAt: row.assessed_at,
  });
}

function toReferral(row: Selectable<OneStopReferralTable>): oneStop.OneStopReferral {
  return oneStop.OneStopReferral.fromPartial({
    referralId: row.referral_id,
    caseRef: row.case_ref,
    referrerAgencyId: row.referrer_agency_id,
    purpose: row.purpose,
    status: row.status,
    receivedAt: row.received_at,
    acceptedAt: row.accepted_at ?? undefined,
  });
}

/** The one-stop desk's API: only the Lotsenhaus's own caseworkers (its own certificate) call it. */
export function oneStopApi(hub: AgencyContext<HubDb>, partners: Partners): AsyncHandlers<typeof S> {
  const rt = hub as unknown as AgencyContext<OneStopDb>;
  const { db, agencyId } = rt;

  const requireOwnCaseworker = (ctx: CallContext) => requireOwn(ctx, agencyId);

  function caseRefOf(v: Violations, value: string): string {
    return v.pattern('case_ref', value, caseRefPattern, 'a case reference of 1 to 64 letters, digits or . _ : -');
  }

  /** The newcomer was at the desk: appointments, assessments and referrals on need an intake first. */
  async function requireIntake(trx: Trx, caseRef: string) {
    setCaseRef(caseRef);
    const intake = await trx.selectFrom('one_stop_intake').selectAll().where('case_ref', '=', caseRef).orderBy('recorded_at', 'desc').executeTakeFirst();
    if (!intake) throw new NotFoundError('case_ref', caseRef, 'intake at the one-stop desk for case');
    return intake;
  }

  async function refuseWithdrawnConsent(trx: Trx, consentId: string) {
    if (await consentWithdrawn(trx, consentId)) throw new PermissionDeniedError(`consent ${consentId} was withdrawn; nothing may be recorded or referred under it`);
  }

  async function step(trx: Trx, eventId: string, caseRef: string, eventType: string, summary: string, referralId = '') {
    await recordDeskStep(trx, { eventId, caseRef, referralId, eventType, agencyId, occurredAt: rt.now(), summary });
  }

  return {
    async listPartners(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      v.enumValue('kind', req.kind, OfferKind, { required: false });
      v.throwIfAny();
      const list = req.kind ? partners.list.filter((p) => p.offers.some((o) => o.kind === req.kind)) : partners.list;
      return { partners: list.map(toPartnerMessage) };
    },

    async listOneStopReferrals(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      v.enumValue('status', req.status, RS, { required: false });
      v.throwIfAny();
      let query = db.selectFrom('one_stop_referral').selectAll().orderBy('received_at').orderBy('referral_id');
      if (req.status) query = query.where('status', '=', req.status);
      return { referrals: (await query.execute()).map(toReferral) };
    },

    async recordIntake(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      const requestId = v.requestId(req.requestId);
      const caseRef = caseRefOf(v, req.caseRef);
      const referralId = v.text('referral_id', req.referralId, { max: 64, required: false });
      v.enumList('needs', req.needs, OfferKind, { min: 1, max: 4 });
      if (new Set(req.needs).size !== req.needs.length) v.add('needs', 'must name each need once');
      if (req.noteCodes.length > maxEntries) v.add('note_codes', `must name at most ${maxEntries} codes`);
      req.noteCodes.forEach((c, i) => v.pattern(`note_codes[${i}]`, c, codePattern, codeExpected));
      v.throwIfAny();
      return rt.transact((trx) =>
        once(trx, { method: 'OneStop/RecordIntake', requestId, request: req, requestCodec: oneStop.RecordIntakeRequest }, oneStop.RecordIntakeResponse, async () => {
          setCaseRef(caseRef);
          const now = rt.now();
          if (referralId) {
            const referral = await trx.selectFrom('one_stop_referral').selectAll().where('referral_id', '=', referralId).forUpdate().executeTakeFirst();
            if (!referral) throw new NotFoundError('referral_id', referralId, 'referral routed to the Lotsenhaus');
            if (referral.case_ref !== caseRef) throw new FailedPreconditionError(`referral ${referralId} is for another case than ${caseRef}`);
            if (referral.status === RS.ONE_STOP_REFERRAL_STATUS_WITHDRAWN) {
              throw new FailedPreconditionError(`referral ${referralId} was withdrawn by its referrer; it can no longer be taken in`);
            }
            if (referral.status !== RS.ONE_STOP_REFERRAL_STATUS_PENDING) throw new FailedPreconditionError(`referral ${referralId} already had its intake`);
            await refuseWithdrawnConsent(trx, referral.consent_id);
            // The hub may have closed it before the desk heard of the withdrawal (the event is on
            // its way). FOR UPDATE: a withdrawal the hub applies meanwhile locks the same row, so
            // it either commits first (refused here) or after this intake, and then closes a
            // referral that was taken in.
            if ((await lockRoutedStatus(trx, referralId)) === common.ReferralStatus.REFERRAL_STATUS_WITHDRAWN) {
              throw new FailedPreconditionError(`referral ${referralId} was withdrawn by its referrer; it can no longer be taken in`);
            }
            await trx.updateTable('one_stop_referral').set({ status: RS.ONE_STOP_REFERRAL_STATUS_ACCEPTED, accepted_at: now }).where('referral_id', '=', referralId).execute();
            const acceptedId = await rt.publish(trx, events.ReferralAccepted, { referralId, caseRef, providerId: agencyId, acceptedAt: now }, caseRef);
            await step(trx, acceptedId, caseRef, 'ReferralAccepted', 'Accepted at the Lotsenhaus one-stop desk', referralId);
          }
          const intake = {
            intake_id: uuidv7(),
            case_ref: caseRef,
            referral_id: referralId || null,
            needs: [...req.needs],
            note_codes: req.noteCodes.map((c) => c.trim()),
            recorded_at: now,
          };
          await trx.insertInto('one_stop_intake').values(intake).execute();
          // A case that starts at the desk (a walk-in) enters the hub's case index, so its timeline can be read.
          await indexDeskCase(trx, caseRef, agencyId, referralId, now);
          const eventId = await rt.publish(
            trx,
            oneStopEvents.IntakeRecorded,
            { caseRef, intakeId: intake.intake_id, referralId, needs: intake.needs, recordedAt: now },
            caseRef,
          );
          await step(trx, eventId, caseRef, 'IntakeRecorded', `Intake at the one-stop desk (${referralId ? 'referred' : 'walk-in'}); needs: ${intake.needs.map(kindName).join(', ')}`, referralId);
          return {
            intake: oneStop.Intake.fromPartial({
              intakeId: intake.intake_id,
              caseRef,
              referralId,
              needs: intake.needs,
              noteCodes: intake.note_codes,
              recordedAt: now,
            }),
          };
        }),
      );
    },

    async bookAppointment(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      const requestId = v.requestId(req.requestId);
      const caseRef = caseRefOf(v, req.caseRef);
      const partnerId = v.text('partner_id', req.partnerId, { max: 64 });
      const offerCode = v.text('offer_code', req.offerCode, { max: 32 });
      if (!req.at) v.add('at', 'must be set');
      else if (req.at.getTime() < rt.now().getTime()) v.add('at', 'must not be in the past');
      else if (req.at.getTime() > rt.now().getTime() + 366 * 86_400_000) v.add('at', 'must be within a year');
      v.throwIfAny();
      const partner = partners.byId.get(partnerId);
      if (!partner) throw new NotFoundError('partner_id', partnerId, 'partner organisation');
      const offer = partner.offers.find((o) => o.code === offerCode);
      if (!offer) throw new NotFoundError('offer_code', offerCode, `offer of ${partnerId} with code`);
      const at = req.at!;
      return rt.transact((trx) =>
        once(trx, { method: 'OneStop/BookAppointment', requestId, request: req, requestCodec: oneStop.BookAppointmentRequest }, oneStop.BookAppointmentResponse, async () => {
          await requireIntake(trx, caseRef);
          const now = rt.now();
          const row = await trx
            .insertInto('one_stop_appointment')
            .values({ appointment_id: uuidv7(), case_ref: caseRef, partner_id: partnerId, offer_code: offerCode, at, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, booked_at: now, cancelled_at: null })
            .returningAll()
            .executeTakeFirstOrThrow();
          const eventId = await rt.publish(
            trx,
            oneStopEvents.AppointmentBooked,
            { caseRef, appointmentId: row.appointment_id, partnerId, offerCode, at, bookedAt: now },
            caseRef,
          );
          await step(trx, eventId, caseRef, 'AppointmentBooked', `Appointment booked with ${partner.name}: ${offer.title} (${offerCode}) on ${at.toISOString()}`);
          return { appointment: toAppointment(row) };
        }),
      );
    },

    async cancelAppointment(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      const requestId = v.requestId(req.requestId);
      const appointmentId = v.text('appointment_id', req.appointmentId, { max: 64 });
      v.enumValue('reason', req.reason, CancelReason);
      v.throwIfAny();
      return rt.transact((trx) =>
        once(trx, { method: 'OneStop/CancelAppointment', requestId, request: req, requestCodec: oneStop.CancelAppointmentRequest }, oneStop.CancelAppointmentResponse, async () => {
          const row = await trx.selectFrom('one_stop_appointment').selectAll().where('appointment_id', '=', appointmentId).forUpdate().executeTakeFirst();
          if (!row) throw new NotFoundError('appointment_id', appointmentId);
          setCaseRef(row.case_ref);
          if (row.status !== AppointmentStatus.APPOINTMENT_STATUS_BOOKED) throw new FailedPreconditionError(`appointment ${appointmentId} is already cancelled`);
          const now = rt.now();
          const updated = await trx
            .updateTable('one_stop_appointment')
            .set({ status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, cancel_reason: req.reason, cancelled_at: now })
            .where('appointment_id', '=', appointmentId)
            .returningAll()
            .executeTakeFirstOrThrow();
          const eventId = await rt.publish(
            trx,
            oneStopEvents.AppointmentCancelled,
            { caseRef: row.case_ref, appointmentId, partnerId: row.partner_id, reason: req.reason, cancelledAt: now },
            row.case_ref,
          );
          const partnerName = partners.byId.get(row.partner_id)?.name ?? row.partner_id;
          await step(trx, eventId, row.case_ref, 'AppointmentCancelled', `Appointment with ${partnerName} (${row.offer_code}) cancelled: ${oneStop.cancelReasonToJSON(req.reason).replace('CANCEL_REASON_', '').toLowerCase()}`);
          return { appointment: toAppointment(updated) };
        }),
      );
    },

    async listAppointments(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      const caseRef = req.caseRef ? caseRefOf(v, req.caseRef) : '';
      const partnerId = v.text('partner_id', req.partnerId, { max: 64, required: false });
      const day = v.isoDate('day', req.day, { required: false });
      if (!caseRef && !partnerId && !day) v.add('case_ref', 'one of case_ref, partner_id or day must be set');
      v.throwIfAny();
      if (partnerId && !partners.byId.has(partnerId)) throw new NotFoundError('partner_id', partnerId, 'partner organisation');
      let query = db.selectFrom('one_stop_appointment').selectAll().orderBy('at').orderBy('appointment_id').limit(500);
      if (caseRef) {
        setCaseRef(caseRef);
        query = query.where('case_ref', '=', caseRef);
      }
      if (partnerId) query = query.where('partner_id', '=', partnerId);
      // The desk's day is the day in Koblenz.
      if (day) query = query.where(sql<boolean>`(at at time zone 'Europe/Berlin')::date = ${day}::date`);
      return { appointments: (await query.execute()).map(toAppointment) };
    },

    async recordCompetenceAssessment(req, ctx) {
      requireOwnCaseworker(ctx);
      requireFlow({ sender: rt.agencyType, recipient: ctx.caller.agencyType, channel: channel.grpc(ctx.method), purpose: common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT, categories: [common.DataCategory.DATA_CATEGORY_LANGUAGES] });
      const actor = actorOfCall(ctx);
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
      return rt.transact((trx) =>
        once(
          trx,
          { method: 'OneStop/RecordCompetenceAssessment', requestId, request: req, requestCodec: oneStop.RecordCompetenceAssessmentRequest },
          oneStop.RecordCompetenceAssessmentResponse,
          async () => {
            await requireIntake(trx, caseRef);
            await refuseWithdrawnConsent(trx, consentId);
            const now = rt.now();
            const qualifications = req.qualifications.map((q) => ({ titleCode: q.titleCode.trim(), country: q.country.trim(), recognition: q.recognition }));
            const workExperience = req.workExperience.map((w) => ({ fieldCode: w.fieldCode.trim(), years: w.years }));
            const languages = req.languages.map((l) => ({ code: l.code.trim(), level: l.level }));
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
            await step(
              trx,
              eventId,
              caseRef,
              'CompetenceAssessed',
              `Competence assessment recorded: ${counts.qualificationCount} qualification(s), ${counts.workExperienceCount} field(s) of work experience, ${counts.languageCount} language(s)`,
            );
            // Last, as appendAudit holds the chain's lock until commit.
            await appendAudit(trx, {
              ...actor,
              action: 'write',
              subjectRef: caseRef,
              categories: [common.DataCategory.DATA_CATEGORY_LANGUAGES],
              purpose: common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
              legalBasis: `consent:${consentId}`,
              details: { assessment_id: row.assessment_id, qualifications: counts.qualificationCount, work_experience: counts.workExperienceCount, languages: counts.languageCount },
              at: now,
            });
            return { assessment: toAssessment(row) };
          },
        ),
      );
    },

    async getCompetenceAssessment(req, ctx) {
      requireOwnCaseworker(ctx);
      requireFlow({ sender: rt.agencyType, recipient: ctx.caller.agencyType, channel: channel.grpc(ctx.method), purpose: common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT, categories: [common.DataCategory.DATA_CATEGORY_LANGUAGES] });
      const actor = actorOfCall(ctx);
      const v = new Violations();
      const caseRef = caseRefOf(v, req.caseRef);
      v.throwIfAny();
      setCaseRef(caseRef);
      return rt.transact(async (trx) => {
        const row = await trx.selectFrom('one_stop_assessment').selectAll().where('case_ref', '=', caseRef).orderBy('assessed_at', 'desc').orderBy('assessment_id', 'desc').executeTakeFirst();
        if (!row) throw new NotFoundError('case_ref', caseRef, 'competence assessment for case');
        await refuseWithdrawnConsent(trx, row.consent_id);
        await appendAudit(trx, {
          ...actor,
          action: 'read',
          subjectRef: caseRef,
          categories: [common.DataCategory.DATA_CATEGORY_LANGUAGES],
          purpose: common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
          legalBasis: `consent:${row.consent_id}`,
          details: { assessment_id: row.assessment_id },
          at: rt.now(),
        });
        return { assessment: toAssessment(row) };
      });
    },

    async referOn(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      const requestId = v.requestId(req.requestId);
      const caseRef = caseRefOf(v, req.caseRef);
      v.enumValue('purpose', req.purpose, ReferOnPurpose);
      const partnerId = v.text('partner_id', req.partnerId, { max: 64, required: false });
      const consentIdIn = v.text('consent_id', req.consentId, { max: 64, required: false });
      const municipalityIn = v.text('municipality', req.municipality, { max: 64, required: false });
      const ownerIn = v.text('owner_agency_id', req.ownerAgencyId, { max: 64, required: false });
      v.enumValue('age_group', req.ageGroup, common.AgeGroup, { required: false });
      if (req.consentedRecipients.length > maxEntries) v.add('consented_recipients', `must name at most ${maxEntries} recipients`);
      req.consentedRecipients.forEach((r, i) => v.pattern(`consented_recipients[${i}]`, r, /^[a-z0-9-]{1,64}$/, 'an agency id or agency type'));
      v.throwIfAny();
      const target = referOnPurposes[req.purpose]!;
      const partner = partnerId ? partners.byId.get(partnerId) : undefined;
      if (partnerId && !partner) throw new NotFoundError('partner_id', partnerId, 'partner organisation');
      if (partner && !partner.offers.some((o) => o.kind === target.kind)) {
        new Violations().add('partner_id', `${partnerId} has no ${target.label} offer`).throwIfAny();
      }
      return rt.transact((trx) =>
        once(trx, { method: 'OneStop/ReferOn', requestId, request: req, requestCodec: oneStop.ReferOnRequest }, oneStop.ReferOnResponse, async () => {
          const intake = await requireIntake(trx, caseRef);
          // A case referred to the Lotsenhaus carries its consent and routing facts; a walk-in brings them.
          const received = intake.referral_id
            ? await trx.selectFrom('one_stop_referral').selectAll().where('referral_id', '=', intake.referral_id).executeTakeFirst()
            : undefined;
          const routed = received
            ? await routingFacts(trx, received.referral_id)
            : undefined;
          const consentId = consentIdIn || received?.consent_id || '';
          const municipality = municipalityIn || routed?.municipality || '';
          const ageGroup = req.ageGroup || received?.age_group || 0;
          const consentedRecipients = req.consentedRecipients.length ? req.consentedRecipients : (routed?.consented_recipients ?? []);
          const ownerAgencyId = ownerIn || received?.owner_agency_id || '';
          const missing = new Violations();
          const why = 'must be set for a case that did not come to the Lotsenhaus by referral';
          if (!consentId) missing.add('consent_id', why);
          if (!municipality) missing.add('municipality', why);
          if (!ageGroup) missing.add('age_group', why);
          if (!consentedRecipients.length) missing.add('consented_recipients', why);
          if (!ownerAgencyId) missing.add('owner_agency_id', why);
          missing.throwIfAny();
          await refuseWithdrawnConsent(trx, consentId);
          const now = rt.now();
          const referralId = uuidv7();
          await trx
            .insertInto('one_stop_referral_on')
            .values({ referral_id: referralId, case_ref: caseRef, purpose: req.purpose, partner_id: partnerId || null, consent_id: consentId, requested_at: now })
            .execute();
          const eventId = await rt.publish(
            trx,
            events.ReferralRequested,
            events.ReferralRequested.fromPartial({
              referralId,
              caseRef,
              referrerAgencyId: agencyId,
              purpose: target.purpose,
              consentId,
              consentedRecipients,
              municipality,
              ageGroup,
              preferredProviderId: partner?.agencyId ?? '',
              requestedAt: now,
              type: common.ReferralType.REFERRAL_TYPE_REFERRAL,
              recipientType: target.recipientType,
              ownerAgencyId,
              sourceReferralId: intake.referral_id ?? '',
            }),
            caseRef,
          );
          const to = partner ? ` (partner: ${partner.name})` : '';
          await step(trx, eventId, caseRef, 'ReferralRequested', `Referred on from the Lotsenhaus for ${target.label}${to}`, referralId);
          return { referral: oneStop.ReferralOn.fromPartial({ referralId, caseRef, purpose: req.purpose, partnerId, requestedAt: now }) };
        }),
      );
    },
  };
}
