import { ValidationError, type FieldViolation } from './errors.js';

/**
 * Collects every problem of a request before anything is written, so a caller sees all bad
 * fields at once. Field names are the proto's snake_case names.
 */
export class Violations {
  readonly list: FieldViolation[] = [];

  add(field: string, description: string): this {
    this.list.push({ field, description });
    return this;
  }

  /** Non-empty after trimming, at most `max` characters; returns the trimmed value. */
  text(field: string, value: string | undefined, { max = 200, required = true }: { max?: number; required?: boolean } = {}): string {
    const trimmed = (value ?? '').trim();
    if (!trimmed) {
      if (required) this.add(field, 'must not be empty');
    } else if ([...trimmed].length > max) {
      this.add(field, `must be at most ${max} characters`);
    } else if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(trimmed)) {
      this.add(field, 'must not contain control characters');
    }
    return trimmed;
  }

  pattern(field: string, value: string, regex: RegExp, expected: string, { required = true } = {}): string {
    const trimmed = (value ?? '').trim();
    if (!trimmed) {
      if (required) this.add(field, 'must not be empty');
    } else if (!regex.test(trimmed)) {
      this.add(field, `must be ${expected}`);
    }
    return trimmed;
  }

  /** A known, specified value of a ts-proto enum (not 0 = UNSPECIFIED, not an unknown number). */
  enumValue<E extends Record<string, string | number>>(field: string, value: number, enumObject: E, { required = true } = {}): void {
    if (value === 0) {
      if (required) this.add(field, 'must be set');
      return;
    }
    const known = Object.values(enumObject).some((v) => typeof v === 'number' && v === value && v > 0);
    if (!known) this.add(field, `unknown value ${value}`);
  }

  enumList<E extends Record<string, string | number>>(field: string, values: number[], enumObject: E, { min = 1, max = 20 } = {}): void {
    if (values.length < min) this.add(field, `must name at least ${min} value${min === 1 ? '' : 's'}`);
    if (values.length > max) this.add(field, `must name at most ${max} values`);
    values.forEach((v, i) => this.enumValue(`${field}[${i}]`, v, enumObject));
  }

  /**
   * An ISO calendar date (YYYY-MM-DD) that exists; optionally not after today — today in
   * Germany, judged at `today` (pass the service's clock, rt.now(), so tests can set it).
   */
  isoDate(field: string, value: string, { notInFuture = false, required = true, today = new Date() } = {}): string {
    const trimmed = (value ?? '').trim();
    if (!trimmed) {
      if (required) this.add(field, 'must not be empty');
      return trimmed;
    }
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(trimmed);
    const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
    if (!date || date.toISOString().slice(0, 10) !== trimmed) {
      this.add(field, 'must be a date as YYYY-MM-DD');
    } else if (notInFuture && trimmed > berlinDate(today)) {
      this.add(field, 'must not be in the future');
    } else if (Number(match![1]) < 1900) {
      this.add(field, 'must not be before 1900');
    }
    return trimmed;
  }

  requestId(value: string): string {
    return this.pattern('request_id', value, /^[A-Za-z0-9._:-]{1,128}$/, 'a client-chosen id of 1 to 128 letters, digits or . _ : -');
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError(this.list);
  }
}

const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit' });

/**
 * The calendar date (YYYY-MM-DD) in Germany at an instant. The agencies work on German dates:
 * a child born at 00:30 in Koblenz is born "today" although UTC still says yesterday, and a
 * birthday begins at midnight in Berlin, not at 01:00 or 02:00.
 */
export function berlinDate(at: Date): string {
  const parts = Object.fromEntries(berlin.formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** Page size for list calls: 0 means the default, larger values are capped. */
export function pageSize(requested: number, fallback = 100, max = 500): number {
  if (!requested) return fallback;
  return Math.min(requested, max);
}
