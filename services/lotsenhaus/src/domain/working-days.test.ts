import { describe, expect, it } from 'vitest';
import { addWorkingDays, waitingSinceCutoff, workingDaysBetween } from './working-days.js';

const at = (iso: string) => new Date(iso);

describe('working days (Mon–Fri)', () => {
  it('counts only the weekdays between two instants', () => {
    // Friday 10:00 → Monday 10:00: only Friday.
    expect(workingDaysBetween(at('2026-11-20T10:00:00Z'), at('2026-11-23T10:00:00Z'))).toBe(1);
    // Monday → next Monday: five.
    expect(workingDaysBetween(at('2026-11-16T08:00:00Z'), at('2026-11-23T08:00:00Z'))).toBe(5);
    expect(workingDaysBetween(at('2026-11-23T08:00:00Z'), at('2026-11-23T20:00:00Z'))).toBe(0);
    expect(workingDaysBetween(at('2026-11-23T08:00:00Z'), at('2026-11-20T08:00:00Z'))).toBe(0);
  });
  it('adds working days across a weekend', () => {
    expect(addWorkingDays(at('2026-11-20T09:00:00Z'), 1).toISOString()).toBe('2026-11-23T09:00:00.000Z'); // Fri + 1 → Mon
    expect(addWorkingDays(at('2026-11-16T09:00:00Z'), 5).toISOString()).toBe('2026-11-23T09:00:00.000Z');
  });
  it('finds the cutoff for "waiting longer than N working days"', () => {
    const now = at('2026-11-23T10:00:00Z'); // Monday
    expect(waitingSinceCutoff(now, 1).toISOString()).toBe('2026-11-20T10:00:00.000Z');
    expect(waitingSinceCutoff(now, 5).toISOString()).toBe('2026-11-16T10:00:00.000Z');
    for (const n of [1, 2, 3, 5, 8]) expect(workingDaysBetween(waitingSinceCutoff(now, n), now)).toBe(n);
  });
  it('follows the calendar in Germany, not in UTC', () => {
    // Sunday 23:30 UTC is Monday 00:30 in Berlin (winter time): a working day there.
    expect(workingDaysBetween(at('2026-11-22T23:30:00Z'), at('2026-11-23T23:30:00Z'))).toBe(1);
    // Friday 23:30 UTC is already Saturday in Berlin.
    expect(workingDaysBetween(at('2026-11-20T23:30:00Z'), at('2026-11-22T23:30:00Z'))).toBe(0);
  });
});
