import { jobCentre as jc } from '@lotse/contracts';
import { newcomerDataFields, receivedReferralFields, type NewcomerRecordRow } from '@lotse/referrals';
import type { Selectable } from 'kysely';
import type {
  CooperationPlanStepTable,
  CooperationPlanTable,
  CustomerTable,
  IntakeReferralTable,
  LanguageCourseFundingTable,
  PlacementTable,
} from '../db/schema.js';

export function toIntakeReferral(row: Selectable<IntakeReferralTable>, extra: { dataFetched: boolean; customerId: string | undefined }): jc.IntakeReferral {
  return jc.IntakeReferral.fromPartial({
    ...receivedReferralFields(row),
    dataFetched: extra.dataFetched,
    customerId: extra.customerId ?? '',
    ownerAgencyId: row.owner_agency_id,
  });
}

export function toNewcomerData(row: NewcomerRecordRow): jc.NewcomerData {
  return jc.NewcomerData.fromPartial({ ...newcomerDataFields(row), ownerAgencyId: row.owner_agency_id });
}

export function toCustomer(row: Selectable<CustomerTable>): jc.Customer {
  return jc.Customer.fromPartial({
    customerId: row.customer_id,
    referralId: row.referral_id,
    caseRef: row.case_ref,
    customerNumber: row.customer_number,
    bgNumber: row.bg_number ?? '',
    benefitsStart: row.benefits_start,
    status: row.status,
    registeredAt: row.registered_at,
    outcome: row.outcome,
    closedOn: row.closed_on ?? '',
  });
}

export function toFunding(row: Selectable<LanguageCourseFundingTable>): jc.LanguageCourseFunding {
  return jc.LanguageCourseFunding.fromPartial({
    decisionId: row.decision_id,
    customerId: row.customer_id,
    assessedLevel: row.assessed_level,
    targetLevel: row.target_level,
    decision: row.decision,
    refusalReason: row.refusal_reason,
    courseStart: row.course_start ?? '',
    decidedAt: row.decided_at,
  });
}

export function toPlan(row: Selectable<CooperationPlanTable>, steps: Selectable<CooperationPlanStepTable>[]): jc.CooperationPlan {
  return jc.CooperationPlan.fromPartial({
    planId: row.plan_id,
    customerId: row.customer_id,
    version: row.version,
    planDate: row.plan_date,
    goals: row.goals,
    steps: [...steps]
      .sort((a, b) => a.position - b.position)
      .map((s) => ({ description: s.description, dueDate: s.due_date, responsible: s.responsible, partnerAgencyId: s.partner_agency_id ?? '' })),
    agreedAt: row.agreed_at,
  });
}

export function toPlacement(row: Selectable<PlacementTable>): jc.Placement {
  return jc.Placement.fromPartial({
    placementId: row.placement_id,
    customerId: row.customer_id,
    type: row.type,
    reference: row.reference,
    startDate: row.start_date,
    endDate: row.end_date ?? '',
    recordedAt: row.recorded_at,
  });
}
