import { jobCentre } from '@lotse/contracts';
import type { FieldViolation } from '@lotse/grpc';

const { CefrLevel, FundingDecision } = jobCentre;
type Level = jobCentre.CefrLevel;

/**
 * The levels a professional language course (Berufssprachkurs, DeuFöV) leads to. Below them the
 * integration course (§ 43 AufenthG) is the way to A2/B1; a job centre does not fund that here.
 */
export const courseTargets: readonly Level[] = [CefrLevel.CEFR_LEVEL_B1, CefrLevel.CEFR_LEVEL_B2, CefrLevel.CEFR_LEVEL_C1];

const name = (level: Level) => jobCentre.cefrLevelToJSON(level).replace('CEFR_LEVEL_', '');

/**
 * The target of the course that can be funded from an assessed level: each DeuFöV base module
 * leads exactly one level up (A2 → B1, B1 → B2, B2 → C1). Undefined from A1 (integration course
 * first) and from C1 (no higher course funded).
 */
export function nextCourseTarget(assessed: Level): Level | undefined {
  const next = (assessed + 1) as Level;
  return courseTargets.includes(next) ? next : undefined;
}

export interface FundingRequest {
  assessedLevel: Level;
  targetLevel: Level;
  decision: jobCentre.FundingDecision;
  /** ISO date, only for an approval. */
  courseStart: string;
}

/**
 * The rules between the fields of a funding decision, for a request whose fields are each
 * well-formed. Any decision: the target lies above the assessed level and is a DeuFöV target.
 * An approval: the target is the next level (one module at a time), and the course does not
 * start before the decision.
 */
export function fundingRuleViolations(req: FundingRequest, today: string): FieldViolation[] {
  const out: FieldViolation[] = [];
  const { assessedLevel: assessed, targetLevel: target } = req;
  if (target <= assessed) {
    out.push({ field: 'target_level', description: `must be above the assessed level ${name(assessed)}` });
  } else if (!courseTargets.includes(target)) {
    out.push({ field: 'target_level', description: 'must be B1, B2 or C1: the levels professional language courses (DeuFöV) lead to' });
  } else if (req.decision === FundingDecision.FUNDING_DECISION_APPROVED && target !== nextCourseTarget(assessed)) {
    const next = nextCourseTarget(assessed);
    out.push({
      field: 'target_level',
      description: next
        ? `an approved course leads one level up: from ${name(assessed)} to ${name(next)}`
        : `no professional language course can be approved from ${name(assessed)}: the integration course comes first (refuse with INTEGRATION_COURSE_FIRST)`,
    });
  }
  if (req.decision === FundingDecision.FUNDING_DECISION_APPROVED && req.courseStart && req.courseStart < today) {
    out.push({ field: 'course_start', description: 'must not be before the decision' });
  }
  return out;
}
