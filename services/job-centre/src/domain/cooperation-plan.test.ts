import { jobCentre } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { planSummary, responsibilityViolations, stepDateViolations, type PlanStepInput } from './cooperation-plan.js';

const { StepResponsible: R } = jobCentre;
const step = (dueDate: string, responsible = R.STEP_RESPONSIBLE_CUSTOMER, partnerAgencyId = ''): PlanStepInput => ({ description: 'x', dueDate, responsible, partnerAgencyId });

describe('cooperation plan (§ 15 SGB II)', () => {
  it('accepts steps due on or after the plan date', () => {
    expect(stepDateViolations('2026-03-02', [step('2026-03-02'), step('2026-06-30')])).toEqual([]);
  });

  it('names every step dated before the plan by its index', () => {
    const v = stepDateViolations('2026-03-02', [step('2026-03-10'), step('2026-03-01'), step('2025-12-31')]);
    expect(v.map((x) => x.field)).toEqual(['steps[1].due_date', 'steps[2].due_date']);
    expect(v[0]!.description).toMatch(/before the plan date 2026-03-02/);
  });

  it('skips dates that are not well-formed (reported by field validation)', () => {
    expect(stepDateViolations('2026-02-30', [step('2026-01-01')])).toEqual([]);
    expect(stepDateViolations('2026-03-02', [step('soon')])).toEqual([]);
  });

  it('wants a partner agency on a partner step and none on the others', () => {
    expect(responsibilityViolations([step('2026-04-01', R.STEP_RESPONSIBLE_PARTNER, 'lotsenhaus'), step('2026-04-01', R.STEP_RESPONSIBLE_JOB_CENTRE)])).toEqual([]);
    const v = responsibilityViolations([
      step('2026-04-01', R.STEP_RESPONSIBLE_PARTNER),
      step('2026-04-01', R.STEP_RESPONSIBLE_CUSTOMER, 'caritas-koblenz'),
      step('2026-04-01', R.STEP_RESPONSIBLE_PARTNER, 'Caritas Koblenz'),
    ]);
    expect(v.map((x) => x.field)).toEqual(['steps[0].partner_agency_id', 'steps[1].partner_agency_id', 'steps[2].partner_agency_id']);
  });

  it('summarises a plan in counts and dates only', () => {
    const summary = planSummary(
      ['B1 erreichen', 'Ausbildung als Pflegefachkraft'],
      [
        step('2026-05-01', R.STEP_RESPONSIBLE_CUSTOMER),
        step('2026-04-01', R.STEP_RESPONSIBLE_JOB_CENTRE),
        step('2026-06-01', R.STEP_RESPONSIBLE_PARTNER, 'lotsenhaus'),
        step('2026-07-01', R.STEP_RESPONSIBLE_PARTNER, 'caritas-koblenz'),
        step('2026-07-15', R.STEP_RESPONSIBLE_PARTNER, 'lotsenhaus'),
      ],
    );
    expect(summary).toEqual({
      goalCount: 2,
      stepCount: 5,
      customerStepCount: 1,
      jobCentreStepCount: 1,
      partnerStepCount: 3,
      partnerAgencyIds: ['caritas-koblenz', 'lotsenhaus'],
      firstDueDate: '2026-04-01',
      lastDueDate: '2026-07-15',
    });
  });
});
