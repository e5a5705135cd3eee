import type { ColumnType } from 'kysely';
import type { HubDb } from '../db/schema.js';

// The one-stop desk's own tables (migration 0101-one-stop). The hub's tables stay the hub's; the
// desk writes only its steps into the one case timeline.

/** A referral the hub routed to the Lotsenhaus. */
export interface OneStopReferralTable {
  referral_id: string;
  case_ref: string;
  referrer_agency_id: string;
  owner_agency_id: string;
  purpose: number;
  consent_id: string;
  age_group: number;
  status: number;
  received_at: Date;
  accepted_at: Date | null;
}

export interface OneStopIntakeTable {
  intake_id: string;
  case_ref: string;
  referral_id: string | null;
  needs: number[];
  note_codes: string[];
  recorded_at: Date;
}

export interface OneStopAppointmentTable {
  appointment_id: string;
  case_ref: string;
  partner_id: string;
  offer_code: string;
  at: Date;
  status: number;
  cancel_reason: ColumnType<number, number | undefined, number>;
  booked_at: Date;
  cancelled_at: Date | null;
}

export interface QualificationJson {
  titleCode: string;
  country: string;
  recognition: number;
}
export interface WorkExperienceJson {
  fieldCode: string;
  years: number;
}
export interface LanguageJson {
  code: string;
  level: number;
}

type Json<T> = ColumnType<T, string, string>;

export interface OneStopAssessmentTable {
  assessment_id: string;
  case_ref: string;
  consent_id: string;
  qualifications: Json<QualificationJson[]>;
  work_experience: Json<WorkExperienceJson[]>;
  languages: Json<LanguageJson[]>;
  assessed_at: Date;
}

export interface OneStopReferralOnTable {
  referral_id: string;
  case_ref: string;
  purpose: number;
  partner_id: string | null;
  consent_id: string;
  requested_at: Date;
}

export interface OneStopTables {
  one_stop_referral: OneStopReferralTable;
  one_stop_intake: OneStopIntakeTable;
  one_stop_appointment: OneStopAppointmentTable;
  one_stop_assessment: OneStopAssessmentTable;
  one_stop_referral_on: OneStopReferralOnTable;
}

export type OneStopDb = HubDb & OneStopTables;
