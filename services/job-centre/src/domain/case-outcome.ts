import { jobCentre } from '@lotse/contracts';

const { CaseOutcome, PlacementType } = jobCentre;

/**
 * Outcomes that state a placement, and the placements that bear them out: "employed" needs a
 * recorded job, "vocational training" an apprenticeship or a further-training measure. Moving
 * away, losing eligibility and "other" need none.
 */
const evidence: Partial<Record<jobCentre.CaseOutcome, jobCentre.PlacementType[]>> = {
  [CaseOutcome.CASE_OUTCOME_EMPLOYED]: [PlacementType.PLACEMENT_TYPE_JOB],
  [CaseOutcome.CASE_OUTCOME_VOCATIONAL_TRAINING]: [PlacementType.PLACEMENT_TYPE_APPRENTICESHIP, PlacementType.PLACEMENT_TYPE_VOCATIONAL_TRAINING_MEASURE],
};

/** Why a case cannot close with this outcome given its placements, or undefined when it can. */
export function closingObstacle(outcome: jobCentre.CaseOutcome, placementTypes: jobCentre.PlacementType[]): string | undefined {
  const needed = evidence[outcome];
  if (!needed || placementTypes.some((t) => needed.includes(t))) return undefined;
  const names = needed.map((t) => jobCentre.placementTypeToJSON(t)).join(' or ');
  return `closing as ${jobCentre.caseOutcomeToJSON(outcome)} needs a recorded placement of type ${names}; record the placement first`;
}

/** The closing date lies between the start of benefits and today. */
export function closedOnProblem(closedOn: string, benefitsStart: string, today: string): string | undefined {
  if (closedOn > today) return 'must not be in the future';
  if (closedOn < benefitsStart) return `must not be before the benefits start ${benefitsStart}`;
  return undefined;
}
