import { jobCentre } from '@lotse/contracts';
import type { FieldViolation } from '@lotse/grpc';

const { StepResponsible } = jobCentre;

export interface PlanStepInput {
  description: string;
  /** ISO date (YYYY-MM-DD). */
  dueDate: string;
  responsible: jobCentre.StepResponsible;
  partnerAgencyId: string;
}

/**
 * A cooperation plan (§ 15 SGB II) looks forward: no step is due before the day the plan was
 * agreed. Dates that are not well-formed are reported elsewhere and skipped here.
 */
export function stepDateViolations(planDate: string, steps: Pick<PlanStepInput, 'dueDate'>[]): FieldViolation[] {
  if (!isIsoDate(planDate)) return [];
  return steps.flatMap((s, i) =>
    isIsoDate(s.dueDate) && s.dueDate < planDate ? [{ field: `steps[${i}].due_date`, description: `must not be before the plan date ${planDate}` }] : [],
  );
}

/** Who does a step: a partner step names the partner agency, any other step names none. */
export function responsibilityViolations(steps: Pick<PlanStepInput, 'responsible' | 'partnerAgencyId'>[]): FieldViolation[] {
  return steps.flatMap((s, i) => {
    const field = `steps[${i}].partner_agency_id`;
    if (s.responsible === StepResponsible.STEP_RESPONSIBLE_PARTNER) {
      if (!s.partnerAgencyId) return [{ field, description: 'must name the partner agency of a partner step' }];
      if (!/^[a-z][a-z0-9-]{1,62}$/.test(s.partnerAgencyId)) return [{ field, description: 'must be an agency id (lower-case letters, digits and hyphens)' }];
    } else if (s.partnerAgencyId && s.responsible !== StepResponsible.STEP_RESPONSIBLE_UNSPECIFIED) {
      return [{ field, description: 'must be empty unless the step is a partner step' }];
    }
    return [];
  });
}

export interface PlanSummary {
  goalCount: number;
  stepCount: number;
  customerStepCount: number;
  jobCentreStepCount: number;
  partnerStepCount: number;
  partnerAgencyIds: string[];
  firstDueDate: string;
  lastDueDate: string;
}

/** What the CooperationPlanAgreed event may say about a plan: counts and dates, no texts. */
export function planSummary(goals: string[], steps: PlanStepInput[]): PlanSummary {
  const count = (r: jobCentre.StepResponsible) => steps.filter((s) => s.responsible === r).length;
  const due = steps.map((s) => s.dueDate).sort();
  return {
    goalCount: goals.length,
    stepCount: steps.length,
    customerStepCount: count(StepResponsible.STEP_RESPONSIBLE_CUSTOMER),
    jobCentreStepCount: count(StepResponsible.STEP_RESPONSIBLE_JOB_CENTRE),
    partnerStepCount: count(StepResponsible.STEP_RESPONSIBLE_PARTNER),
    partnerAgencyIds: [...new Set(steps.filter((s) => s.responsible === StepResponsible.STEP_RESPONSIBLE_PARTNER).map((s) => s.partnerAgencyId))].sort(),
    firstDueDate: due[0] ?? '',
    lastDueDate: due[due.length - 1] ?? '',
  };
}

function isIsoDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return !!match && new Date(Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!)).toISOString().slice(0, 10) === value;
}
