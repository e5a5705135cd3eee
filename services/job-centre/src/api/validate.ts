import { jobCentre as jc } from '@lotse/contracts';
import { berlinDate, Violations } from '@lotse/grpc';
import { closedOnProblem } from '../domain/case-outcome.js';
import { responsibilityViolations, stepDateViolations, type PlanStepInput } from '../domain/cooperation-plan.js';
import { fundingRuleViolations } from '../domain/language-course.js';

// Every request is checked whole before anything is read or written, so a caller sees all bad
// fields at once; field names are the proto's snake_case paths.

// Ages and deadlines count in German calendar days, not UTC ones.
const isoDay = berlinDate;
const ID_MAX = 64;

function base(requestId: string) {
  const v = new Violations();
  return { v, requestId: v.requestId(requestId) };
}

export function validateRegisterCustomer(req: jc.RegisterCustomerRequest) {
  const { v, requestId } = base(req.requestId);
  const referralId = v.text('referral_id', req.referralId, { max: ID_MAX });
  // The Bundesagentur's formats: Kundennummer "123A456789", BG-Nummer "12345BG1234567".
  const customerNumber = v.pattern('customer_number', req.customerNumber, /^\d{3}[A-Z]\d{6}$/, 'a customer number (Kundennummer) like 123A456789');
  const bgNumber = v.pattern('bg_number', req.bgNumber, /^\d{5}BG\d{7}$/, 'a Bedarfsgemeinschaft number like 12345BG1234567', { required: false });
  const benefitsStart = v.isoDate('benefits_start', req.benefitsStart);
  v.throwIfAny();
  return { requestId, referralId, customerNumber, bgNumber: bgNumber || null, benefitsStart };
}

export function validateCustomerId(v: Violations, customerId: string): string {
  return v.text('customer_id', customerId, { max: ID_MAX });
}

export function validateFunding(req: jc.DecideLanguageCourseFundingRequest, now: Date) {
  const { v, requestId } = base(req.requestId);
  const customerId = validateCustomerId(v, req.customerId);
  const before = v.list.length;
  v.enumValue('assessed_level', req.assessedLevel, jc.CefrLevel);
  v.enumValue('target_level', req.targetLevel, jc.CefrLevel);
  v.enumValue('decision', req.decision, jc.FundingDecision);
  const approved = req.decision === jc.FundingDecision.FUNDING_DECISION_APPROVED;
  const refused = req.decision === jc.FundingDecision.FUNDING_DECISION_REFUSED;
  let courseStart = '';
  if (approved) {
    if (req.refusalReason) v.add('refusal_reason', 'must not be set when the course is approved');
    courseStart = v.isoDate('course_start', req.courseStart);
  } else if (refused) {
    v.enumValue('refusal_reason', req.refusalReason, jc.FundingRefusalReason);
    if (req.courseStart.trim()) v.add('course_start', 'must be empty when the course is refused');
  }
  // The rules between levels, decision and start date apply once each of them is well-formed.
  if (v.list.length === before) {
    for (const x of fundingRuleViolations({ assessedLevel: req.assessedLevel, targetLevel: req.targetLevel, decision: req.decision, courseStart }, isoDay(now))) {
      v.add(x.field, x.description);
    }
  }
  v.throwIfAny();
  return { requestId, customerId, courseStart: courseStart || null, refusalReason: approved ? 0 : req.refusalReason };
}

const MAX_GOALS = 20;
const MAX_STEPS = 50;

export function validatePlan(req: jc.AgreeCooperationPlanRequest, now: Date) {
  const { v, requestId } = base(req.requestId);
  const customerId = validateCustomerId(v, req.customerId);
  const planDate = v.isoDate('plan_date', req.planDate, { notInFuture: true, today: now });
  if (req.goals.length === 0) v.add('goals', 'must name at least one goal');
  if (req.goals.length > MAX_GOALS) v.add('goals', `must name at most ${MAX_GOALS} goals`);
  const goals = req.goals.map((g, i) => v.text(`goals[${i}]`, g, { max: 500 }));
  if (req.steps.length === 0) v.add('steps', 'must name at least one step');
  if (req.steps.length > MAX_STEPS) v.add('steps', `must name at most ${MAX_STEPS} steps`);
  const steps: PlanStepInput[] = req.steps.map((s, i) => {
    const description = v.text(`steps[${i}].description`, s.description, { max: 500 });
    const dueDate = v.isoDate(`steps[${i}].due_date`, s.dueDate);
    v.enumValue(`steps[${i}].responsible`, s.responsible, jc.StepResponsible);
    return { description, dueDate, responsible: s.responsible, partnerAgencyId: s.partnerAgencyId.trim() };
  });
  for (const x of [...responsibilityViolations(steps), ...stepDateViolations(planDate, steps)]) v.add(x.field, x.description);
  v.throwIfAny();
  return { requestId, customerId, planDate, goals, steps };
}

export function validatePlacement(req: jc.RecordPlacementRequest) {
  const { v, requestId } = base(req.requestId);
  const customerId = validateCustomerId(v, req.customerId);
  v.enumValue('type', req.type, jc.PlacementType);
  const reference = v.text('reference', req.reference, { max: 64 });
  const startDate = v.isoDate('start_date', req.startDate);
  const endDate = v.isoDate('end_date', req.endDate, { required: false });
  if (startDate && endDate && /^\d{4}-\d{2}-\d{2}$/.test(startDate) && endDate < startDate) v.add('end_date', 'must not be before the start date');
  v.throwIfAny();
  return { requestId, customerId, type: req.type, reference, startDate, endDate: endDate || null };
}

export function validateClose(req: jc.CloseCaseRequest, now: Date) {
  const { v, requestId } = base(req.requestId);
  const customerId = validateCustomerId(v, req.customerId);
  v.enumValue('outcome', req.outcome, jc.CaseOutcome);
  const closedOn = v.isoDate('closed_on', req.closedOn, { notInFuture: true, today: now });
  v.throwIfAny();
  return { requestId, customerId, outcome: req.outcome, closedOn };
}

/** The closing date against the customer's benefits start (known only once the customer is read). */
export function closedOnViolation(closedOn: string, benefitsStart: string, now: Date): string | undefined {
  return closedOnProblem(closedOn, benefitsStart, isoDay(now));
}
