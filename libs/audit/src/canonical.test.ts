import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalRow, GENESIS_HASH, rowHash, type HashedFields } from './canonical.js';

const row: HashedFields = {
  seq: 1,
  at: new Date('2026-11-21T10:00:00.123Z'),
  actor_agency_id: 'caritas-koblenz',
  actor: 'caseworker',
  caseworker_id: 'cw-7',
  action: 'fetch',
  subject_ref: 'C-ABC',
  categories: [1, 3],
  purpose: 1,
  legal_basis: 'consent:0199',
  details: { referral_id: 'r-1', owner_agency_id: 'kv-mayen-koblenz' },
  prev_hash: GENESIS_HASH,
};

describe('canonical encoding of audit rows', () => {
  it('does not depend on the order of keys (jsonb reorders them)', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 'x'], c: null } })).toBe('{"a":{"c":null,"d":[2,"x"]},"b":1}');
    const reordered = { ...row, details: { owner_agency_id: 'kv-mayen-koblenz', referral_id: 'r-1' } };
    expect(rowHash(reordered)).toBe(rowHash(row));
  });

  it('changes with every field, including the previous hash', () => {
    const base = rowHash(row);
    const variants: Partial<HashedFields>[] = [
      { seq: 2 },
      { at: new Date(row.at.getTime() + 1) },
      { actor_agency_id: 'awo-rheinland' },
      { actor: 'system' },
      { caseworker_id: null },
      { action: 'read' },
      { subject_ref: 'C-ABD' },
      { categories: [1, 3, 4] },
      { purpose: 2 },
      { legal_basis: '§ 71 SGB X' },
      { details: { referral_id: 'r-2', owner_agency_id: 'kv-mayen-koblenz' } },
      { prev_hash: 'f'.repeat(64) },
    ];
    for (const v of variants) expect(rowHash({ ...row, ...v }), JSON.stringify(v)).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is versioned and keeps timestamps to the millisecond', () => {
    expect(canonicalRow(row)).toMatch(/^\["lotse\.audit\.v1",1,"2026-11-21T10:00:00\.123Z"/);
  });

  it('hashes a row without roles exactly as before roles were kept (v1), and one with roles as v2 covering them', () => {
    expect(rowHash({ ...row, actor_roles: null })).toBe(rowHash(row));
    const withRoles = { ...row, actor_roles: ['caseworker'] };
    expect(canonicalRow(withRoles)).toMatch(/^\["lotse\.audit\.v2",1,.*,\["caseworker"\]\]$/);
    expect(rowHash(withRoles)).not.toBe(rowHash(row));
    expect(rowHash({ ...withRoles, actor_roles: ['supervisor'] })).not.toBe(rowHash(withRoles));
  });

  it('refuses fractions and non-JSON values', () => {
    expect(() => canonicalJson({ x: 0.5 })).toThrow(/whole numbers/);
    expect(() => canonicalJson({ x: () => 1 } as any)).toThrow(/cannot hold/);
  });
});
