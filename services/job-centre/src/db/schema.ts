import type { NewcomerRecordTable, OutgoingReferralTable, ReceivedReferralTable } from '@lotse/referrals';
import type { Generated } from 'kysely';

/** Referrals the hub routed to this job centre: the shared workflow's columns. */
export interface IntakeReferralTable extends ReceivedReferralTable {
  /** job_centre.v1.IntakeStatus */
  status: number;
}


/** A newcomer registered as the job centre's customer (SGB II). Dates are ISO strings (YYYY-MM-DD). */
export interface CustomerTable {
  customer_id: string;
  referral_id: string;
  case_ref: string;
  customer_number: string;
  bg_number: string | null;
  benefits_start: string;
  /** job_centre.v1.CustomerStatus */
  status: number;
  registered_at: Date;
  /** job_centre.v1.CaseOutcome; 0 while open. */
  outcome: number;
  closed_on: string | null;
  closed_at: Date | null;
}

export interface LanguageCourseFundingTable {
  decision_id: string;
  customer_id: string;
  assessed_level: number;
  target_level: number;
  decision: number;
  refusal_reason: number;
  course_start: string | null;
  decided_at: Date;
}

export interface CooperationPlanTable {
  plan_id: string;
  customer_id: string;
  version: number;
  plan_date: string;
  goals: string[];
  agreed_at: Date;
}

export interface CooperationPlanStepTable {
  plan_id: string;
  position: number;
  description: string;
  due_date: string;
  /** job_centre.v1.StepResponsible */
  responsible: number;
  partner_agency_id: string | null;
}

export interface PlacementTable {
  placement_id: string;
  customer_id: string;
  /** job_centre.v1.PlacementType */
  type: number;
  reference: string;
  start_date: string;
  end_date: string | null;
  recorded_at: Date;
}

export interface JobCentreDb {
  received_referral: IntakeReferralTable;
  newcomer_record: NewcomerRecordTable;
  customer: CustomerTable;
  language_course_funding: LanguageCourseFundingTable;
  cooperation_plan: CooperationPlanTable;
  cooperation_plan_step: CooperationPlanStepTable;
  placement: PlacementTable;
  outgoing_referral: OutgoingReferralTable;
}
