import { common } from '@lotse/contracts';

const { AgeGroup } = common;

/** Completed years of life on `on` (ISO dates, no time zones involved). */
export function ageOn(birthDate: string, on: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [y, m, d] = on.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/**
 * The migration services' target groups: the Jugendmigrationsdienst serves 12 to 26 year olds,
 * the Migrationsberatung für erwachsene Zuwanderer 27 and older. Under 12 neither does.
 */
export function ageGroupOn(birthDate: string, on: string): common.AgeGroup {
  const age = ageOn(birthDate, on);
  if (age < 12) return AgeGroup.AGE_GROUP_CHILD;
  if (age < 27) return AgeGroup.AGE_GROUP_YOUTH;
  return AgeGroup.AGE_GROUP_ADULT;
}
