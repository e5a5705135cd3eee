// Working days are Monday to Friday (public holidays are not modelled), as the calendar in the
// district (Europe/Berlin) has them: a referral made on Sunday at 23:30 UTC is made on a Monday
// there. Day precision is enough; steps of 24 hours keep the time of day.

const DAY = 86_400_000;
const berlinWeekday = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short' });
const isWorkingDay = (d: Date) => {
  const day = berlinWeekday.format(d);
  return day !== 'Sat' && day !== 'Sun';
};

/** Whole working days from `from` to `to`: each working day whose end was reached counts. */
export function workingDaysBetween(from: Date, to: Date): number {
  if (to <= from) return 0;
  let count = 0;
  const cursor = new Date(from.getTime());
  while (cursor.getTime() + DAY <= to.getTime()) {
    if (isWorkingDay(cursor)) count++;
    cursor.setTime(cursor.getTime() + DAY);
  }
  return count;
}

/** The instant `days` working days after `from` (weekends are skipped over). */
export function addWorkingDays(from: Date, days: number): Date {
  const cursor = new Date(from.getTime());
  let left = days;
  while (left > 0) {
    const wasWorkingDay = isWorkingDay(cursor);
    cursor.setTime(cursor.getTime() + DAY);
    if (wasWorkingDay) left--;
  }
  // A deadline falls on a working day: Friday 09:00 plus one working day is Monday 09:00.
  while (!isWorkingDay(cursor)) cursor.setTime(cursor.getTime() + DAY);
  return cursor;
}

/** The latest instant a case may have entered its status to be waiting longer than `days` working days at `now`. */
export function waitingSinceCutoff(now: Date, days: number): Date {
  // Walk back day by day until `days` working days lie between the cutoff and now.
  const cursor = new Date(now.getTime());
  let counted = 0;
  while (counted < days) {
    cursor.setTime(cursor.getTime() - DAY);
    if (isWorkingDay(cursor)) counted++;
  }
  return cursor;
}
