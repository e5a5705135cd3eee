import { describe, expect, it } from 'vitest';
import { common } from '@lotse/contracts';
import { ageGroupOn, ageOn } from './age-group.js';

describe('age groups', () => {
  it('counts a birthday only once it has come', () => {
    expect(ageOn('2000-06-15', '2026-06-14')).toBe(25);
    expect(ageOn('2000-06-15', '2026-06-15')).toBe(26);
  });
  it('puts 12 to 26 in the youth migration service and 27 and older in adult counselling', () => {
    expect(ageGroupOn('2015-01-01', '2026-11-21')).toBe(common.AgeGroup.AGE_GROUP_CHILD);
    expect(ageGroupOn('2014-11-21', '2026-11-21')).toBe(common.AgeGroup.AGE_GROUP_YOUTH);
    expect(ageGroupOn('1999-11-22', '2026-11-21')).toBe(common.AgeGroup.AGE_GROUP_YOUTH);
    expect(ageGroupOn('1999-11-21', '2026-11-21')).toBe(common.AgeGroup.AGE_GROUP_ADULT);
  });
});
