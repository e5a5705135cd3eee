import { jobCentre } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { closedOnProblem, closingObstacle } from './case-outcome.js';

const { CaseOutcome: O, PlacementType: P } = jobCentre;

describe('closing a job centre case', () => {
  it('closes as employed only with a recorded job', () => {
    expect(closingObstacle(O.CASE_OUTCOME_EMPLOYED, [P.PLACEMENT_TYPE_ACTIVATION_MEASURE, P.PLACEMENT_TYPE_JOB])).toBeUndefined();
    expect(closingObstacle(O.CASE_OUTCOME_EMPLOYED, [P.PLACEMENT_TYPE_ACTIVATION_MEASURE])).toMatch(/PLACEMENT_TYPE_JOB; record the placement first/);
    expect(closingObstacle(O.CASE_OUTCOME_EMPLOYED, [])).toBeDefined();
  });

  it('closes as vocational training with an apprenticeship or a further-training measure', () => {
    expect(closingObstacle(O.CASE_OUTCOME_VOCATIONAL_TRAINING, [P.PLACEMENT_TYPE_APPRENTICESHIP])).toBeUndefined();
    expect(closingObstacle(O.CASE_OUTCOME_VOCATIONAL_TRAINING, [P.PLACEMENT_TYPE_VOCATIONAL_TRAINING_MEASURE])).toBeUndefined();
    expect(closingObstacle(O.CASE_OUTCOME_VOCATIONAL_TRAINING, [P.PLACEMENT_TYPE_JOB])).toMatch(/APPRENTICESHIP or PLACEMENT_TYPE_VOCATIONAL_TRAINING_MEASURE/);
  });

  it('needs no placement to close as moved away, no longer eligible or other', () => {
    for (const outcome of [O.CASE_OUTCOME_MOVED_AWAY, O.CASE_OUTCOME_NO_LONGER_ELIGIBLE, O.CASE_OUTCOME_OTHER]) {
      expect(closingObstacle(outcome, [])).toBeUndefined();
    }
  });

  it('closes between the start of benefits and today', () => {
    expect(closedOnProblem('2026-03-02', '2026-01-01', '2026-03-02')).toBeUndefined();
    expect(closedOnProblem('2026-01-01', '2026-01-01', '2026-03-02')).toBeUndefined();
    expect(closedOnProblem('2026-03-03', '2026-01-01', '2026-03-02')).toBe('must not be in the future');
    expect(closedOnProblem('2025-12-31', '2026-01-01', '2026-03-02')).toMatch(/before the benefits start 2026-01-01/);
  });
});
