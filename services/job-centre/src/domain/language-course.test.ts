import { jobCentre } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { fundingRuleViolations, nextCourseTarget } from './language-course.js';

const { CefrLevel: L, FundingDecision: D } = jobCentre;
const today = '2026-03-02';
const approve = (assessedLevel: jobCentre.CefrLevel, targetLevel: jobCentre.CefrLevel, courseStart = '2026-04-01') =>
  fundingRuleViolations({ assessedLevel, targetLevel, decision: D.FUNDING_DECISION_APPROVED, courseStart }, today);
const refuse = (assessedLevel: jobCentre.CefrLevel, targetLevel: jobCentre.CefrLevel) =>
  fundingRuleViolations({ assessedLevel, targetLevel, decision: D.FUNDING_DECISION_REFUSED, courseStart: '' }, today);
const fields = (v: { field: string }[]) => v.map((x) => x.field);

describe('language-course funding (CEFR progression, DeuFöV)', () => {
  it('leads one level up to a DeuFöV target: A2 → B1, B1 → B2, B2 → C1; nothing from A1 or C1', () => {
    expect(nextCourseTarget(L.CEFR_LEVEL_A1)).toBeUndefined();
    expect(nextCourseTarget(L.CEFR_LEVEL_A2)).toBe(L.CEFR_LEVEL_B1);
    expect(nextCourseTarget(L.CEFR_LEVEL_B1)).toBe(L.CEFR_LEVEL_B2);
    expect(nextCourseTarget(L.CEFR_LEVEL_B2)).toBe(L.CEFR_LEVEL_C1);
    expect(nextCourseTarget(L.CEFR_LEVEL_C1)).toBeUndefined();
  });

  it('approves exactly the next level', () => {
    expect(approve(L.CEFR_LEVEL_A2, L.CEFR_LEVEL_B1)).toEqual([]);
    expect(approve(L.CEFR_LEVEL_B1, L.CEFR_LEVEL_B2)).toEqual([]);
    expect(approve(L.CEFR_LEVEL_B2, L.CEFR_LEVEL_C1)).toEqual([]);
  });

  it('refuses a target at or below the assessed level, for any decision', () => {
    expect(fields(approve(L.CEFR_LEVEL_B1, L.CEFR_LEVEL_B1))).toEqual(['target_level']);
    expect(fields(refuse(L.CEFR_LEVEL_B2, L.CEFR_LEVEL_B1))).toEqual(['target_level']);
    expect(approve(L.CEFR_LEVEL_C1, L.CEFR_LEVEL_C1)[0]!.description).toMatch(/above the assessed level C1/);
  });

  it('refuses A2 as a target: that is the integration course, not a professional language course', () => {
    expect(approve(L.CEFR_LEVEL_A1, L.CEFR_LEVEL_A2)[0]).toMatchObject({ field: 'target_level', description: expect.stringMatching(/B1, B2 or C1/) });
    expect(fields(refuse(L.CEFR_LEVEL_A1, L.CEFR_LEVEL_A2))).toEqual(['target_level']);
  });

  it('does not approve a course that skips a level, but a refusal may name any higher target', () => {
    expect(approve(L.CEFR_LEVEL_A2, L.CEFR_LEVEL_B2)[0]).toMatchObject({ field: 'target_level', description: expect.stringMatching(/from A2 to B1/) });
    expect(approve(L.CEFR_LEVEL_A1, L.CEFR_LEVEL_B1)[0]!.description).toMatch(/integration course comes first/);
    expect(refuse(L.CEFR_LEVEL_A1, L.CEFR_LEVEL_B1)).toEqual([]);
    expect(refuse(L.CEFR_LEVEL_A2, L.CEFR_LEVEL_C1)).toEqual([]);
  });

  it('does not approve a course that started before the decision', () => {
    expect(fields(approve(L.CEFR_LEVEL_A2, L.CEFR_LEVEL_B1, '2026-03-01'))).toEqual(['course_start']);
    expect(approve(L.CEFR_LEVEL_A2, L.CEFR_LEVEL_B1, today)).toEqual([]);
  });
});
