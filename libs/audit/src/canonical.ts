import { createHash } from 'node:crypto';

/** What audit details may hold: ids and codes, so plain JSON values without floats' surprises. */
export type DetailValue = string | number | boolean | null | DetailValue[] | { [key: string]: DetailValue };
export type Details = Record<string, DetailValue>;

/** prev_hash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every level. jsonb reorders keys (and drops duplicates), so
 * the hash must not depend on the order the writer used.
 */
export function canonicalJson(value: DetailValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`audit details hold whole numbers only, got ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`)
      .join(',')}}`;
  }
  throw new TypeError(`audit details cannot hold a ${typeof value}`);
}

/** The fields of an audit row the hash covers: all of them but the hash itself. */
export interface HashedFields {
  seq: number;
  at: Date;
  actor_agency_id: string;
  actor: string;
  caseworker_id: string | null;
  /** The verified roles the person acted in; null where no token was verified (and on rows from before roles were kept). */
  actor_roles?: string[] | null;
  action: string;
  subject_ref: string;
  categories: number[];
  purpose: number;
  legal_basis: string;
  details: Details;
  prev_hash: string;
}

/**
 * The canonical encoding of a row: a JSON array in a fixed field order, led by a version tag so
 * the encoding can change later without old rows verifying under the wrong rules.
 */
export function canonicalRow(row: HashedFields): string {
  // v2 adds the verified roles at the end; a row without them keeps v1, so every row written
  // before roles were recorded verifies exactly as it did.
  const v1 = [
    row.seq,
    row.at.toISOString(),
    row.actor_agency_id,
    row.actor,
    row.caseworker_id,
    row.action,
    row.subject_ref,
    row.categories,
    row.purpose,
    row.legal_basis,
    row.details,
  ];
  return canonicalJson(row.actor_roles ? ['lotse.audit.v2', ...v1, [...row.actor_roles]] : ['lotse.audit.v1', ...v1]);
}

/** sha256 over the previous row's hash and this row's canonical encoding, hex. */
export function rowHash(row: HashedFields): string {
  return createHash('sha256').update(row.prev_hash).update('\n').update(canonicalRow(row)).digest('hex');
}
