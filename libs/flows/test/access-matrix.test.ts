// The authorisation matrix covers every RPC in proto/ — a new RPC without a row fails here —
// names no RPC that is gone, and refuses what it does not list.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { accessMatrix, accessMatrixDocument, accessRefusal, AccessMatrixError, loadAccessMatrix, personRequirement } from '../src/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

function protoFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? protoFiles(path) : name.endsWith('.proto') ? [path] : [];
  });
}

/** Every `package.Service/Method` declared in proto/lotse. */
function declaredRpcs(): string[] {
  return protoFiles(join(repoRoot, 'proto/lotse')).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const pkg = /^package\s+([\w.]+);/m.exec(text)![1];
    const rpcs: string[] = [];
    let service = '';
    for (const line of text.split('\n')) {
      const s = /^service\s+(\w+)/.exec(line);
      if (s) service = s[1]!;
      const r = /^\s*rpc\s+(\w+)\s*\(/.exec(line);
      if (r) rpcs.push(`${pkg}.${service}/${r[1]}`);
    }
    return rpcs;
  });
}

const dir = mkdtempSync(join(tmpdir(), 'lotse-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the authorisation matrix (policy/access.yaml)', () => {
  const matrix = accessMatrix();

  it('has a row for every RPC in proto/, and none for an RPC that is gone', () => {
    const declared = declaredRpcs().sort();
    expect(declared.length).toBeGreaterThan(50);
    expect([...matrix.rules.keys()].filter((m) => !declared.includes(m))).toEqual([]);
    expect(declared.filter((m) => !matrix.rules.has(m))).toEqual([]);
  });

  it('lets through what a row lists and refuses the rest, naming who may call', () => {
    const fo = { agencyId: 'kv-mayen-koblenz', agencyType: 'foreign-office' };
    const mbe = { agencyId: 'caritas-koblenz', agencyType: 'migration-services' };
    const ops = { agencyId: 'console', agencyType: 'operator' };
    expect(accessRefusal('/lotse.foreign_office.v1.ForeignOfficeService/RegisterNewcomer', fo, fo)).toBeUndefined();
    expect(accessRefusal('/lotse.foreign_office.v1.ForeignOfficeService/RegisterNewcomer', mbe, fo)).toMatch(/only kv-mayen-koblenz itself .*caritas-koblenz is of agency type "migration-services"/);
    expect(accessRefusal('/lotse.foreign_office.v1.ForeignOfficeService/DiscloseNewcomerData', mbe, fo)).toBeUndefined();
    expect(accessRefusal('/lotse.foreign_office.v1.ForeignOfficeService/DiscloseNewcomerData', ops, fo)).toBeDefined();
    expect(accessRefusal('lotse.foreign_office.v1.ForeignOfficeService/GetConsentText', ops, fo)).toBeUndefined();
    expect(accessRefusal('/lotse.operator.v1.OperatorService/ListParkedMessages', fo, fo)).toMatch(/only operator/);
    expect(accessRefusal('/lotse.nothing.v1.Gone/Call', ops, fo)).toMatch(/no row in the authorisation matrix/);
  });

  it('refuses a matrix with an unknown caller, relation or field, naming it', () => {
    const bad = (rpcs: string) => {
      const file = join(dir, `m-${Math.random().toString(16).slice(2)}.yaml`);
      writeFileSync(file, `version: t\nagency_types: [foreign-office]\nrpcs:\n${rpcs}\n`);
      return () => loadAccessMatrix(file);
    };
    expect(bad('  a.v1.S/M: { callers: [nobody] }')).toThrow(AccessMatrixError);
    expect(bad('  a.v1.S/M: { callers: [nobody] }')).toThrow(/a.v1.S\/M.callers: "nobody"/);
    expect(bad('  a.v1.S/M: { callers: [self], relation: friends }')).toThrow(/relation: "friends"/);
    expect(bad('  a.v1.S/M: { callers: [self], roles: [x] }')).toThrow(/unknown field\(s\) roles/);
    expect(bad('  a.v1.S/M: { callers: [] }')).toThrow(/non-empty/);
    expect(bad('  a.v1.S/M: { callers: [self], people: [janitor] }')).toThrow(/people: "janitor" is none of caseworker/);
    expect(bad('  a.v1.S/M: { callers: [self], machines: [self] }')).toThrow(/machines: only makes sense beside people/);
  });

  it('names the roles of the people behind every RPC a deployment serves its own staff, and who may call as software', () => {
    const withoutPeople = [...matrix.rules.values()].filter((r) => r.callers.includes('self') && !r.people).map((r) => r.method);
    expect(withoutPeople).toEqual([]);
    const fo = { agencyId: 'kv-mayen-koblenz', agencyType: 'foreign-office' };
    const mbe = { agencyId: 'caritas-koblenz', agencyType: 'migration-services' };
    const ops = { agencyId: 'console', agencyType: 'operator' };
    expect(personRequirement('/lotse.foreign_office.v1.ForeignOfficeService/RegisterNewcomer', fo, fo)).toEqual({ roles: ['caseworker', 'supervisor'], required: true });
    expect(personRequirement('/lotse.foreign_office.v1.ForeignOfficeService/DiscloseNewcomerData', mbe, fo)).toBeUndefined();
    expect(personRequirement('/lotse.operator.v1.OperatorService/ListParkedMessages', ops, fo)).toEqual({ roles: ['operator'], required: false });
    // Replay and discard act for the signed-in operator (the console forwards the token); polling and reconcile do not.
    expect(personRequirement('/lotse.operator.v1.OperatorService/ReplayParkedMessage', { agencyId: 'someone', agencyType: 'operator' }, fo)).toEqual({ roles: ['operator'], required: true });
    expect(personRequirement('/lotse.operator.v1.OperatorService/DiscardParkedMessage', ops, fo)).toEqual({ roles: ['operator'], required: true });
    expect(personRequirement('/lotse.operator.v1.OperatorService/Reconcile', ops, fo)).toEqual({ roles: ['operator'], required: false });
    expect(personRequirement('/lotse.migration_services.v1.MigrationServicesService/SetCapacity', mbe, mbe)).toEqual({ roles: ['supervisor'], required: true });
  });

  it('is rendered in docs/access-matrix.md as `pnpm records` writes it (run it after a change)', () => {
    expect(readFileSync(join(repoRoot, 'docs/access-matrix.md'), 'utf8')).toBe(accessMatrixDocument(matrix));
  });
});
