import { oneStop } from '@lotse/contracts';
import type { Selectable } from 'kysely';
import type { OneStopAppointmentTable, OneStopAssessmentTable, OneStopReferralTable } from './schema.js';

// The desk's rows as the messages of its API.

export function toAppointment(row: Selectable<OneStopAppointmentTable>): oneStop.Appointment {
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

export function toAssessment(row: Selectable<OneStopAssessmentTable>): oneStop.CompetenceAssessment {
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

export function toReferral(row: Selectable<OneStopReferralTable>): oneStop.OneStopReferral {
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
