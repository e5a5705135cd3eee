// The one helper that signs demo staff in for the scenario, the bench and the e2e tests, against
// the real embedded issuer: a token per account, shared by calls made at once, renewed once less
// than a minute of it is left; and the role each call acts as, from policy/access.yaml.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedIssuer, type EmbeddedIssuer } from '@lotse/identity/issuer';
import { ensureDevPki } from '@lotse/pki';
import { consoleDeployment, demoDeployments } from '../src/deployments.js';
import { CLI_CLIENT, demoStaff, NETWORK_AUDIENCE } from '../src/sign-in.js';
import { StaffTokens } from '../src/staff-tokens.js';

const deployments = demoDeployments(0);
const operatorConsole = consoleDeployment(0);
const staff = demoStaff(deployments, operatorConsole);
const types = new Map([...deployments.map((d) => [d.id, d.agencyType] as const), [operatorConsole.id, 'operator'], ['test-auditor', 'auditor']]);
const fo = 'kv-mayen-koblenz';

// The certificates the tokens would be bound to (this issuer offers no mutual-TLS alias, so they are not).
const pki = mkdtempSync(join(tmpdir(), 'lotse-staff-tokens-'));
let issuer: EmbeddedIssuer;
const tokensOf = () =>
  new StaffTokens({ issuer: issuer.issuer, audience: NETWORK_AUDIENCE, ...CLI_CLIENT, staff: staff.map((s) => ({ username: s.username, agencyId: s.agencyId, roles: s.roles })) }, types, pki);

beforeAll(async () => {
  await ensureDevPki(pki, [{ id: fo, agencyType: 'foreign-office' }]);
  // 62 s: a token is renewed once less than 60 s of it is left, so this one is after ~2 s.
  issuer = await startEmbeddedIssuer({ staff, audience: NETWORK_AUDIENCE, clients: [{ clientId: CLI_CLIENT.clientId, redirectUris: [CLI_CLIENT.redirectUri] }], accessTokenTtlSeconds: 62 });
});

afterAll(async () => {
  await issuer?.stop();
  rmSync(pki, { recursive: true, force: true });
});

const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { lotse_agency: string; lotse_roles: string[]; exp: number };

describe('demo staff signed in for the network', () => {
  it('keeps one token per account, shares a sign-in between calls made at once, and renews it before it expires', async () => {
    const tokens = tokensOf();
    const [a, b] = await Promise.all([tokens.token(fo), tokens.token(fo)]);
    expect(a).toBe(b);
    expect(tokens.signIns).toBe(1);
    expect(claims(a)).toMatchObject({ lotse_agency: fo, lotse_roles: ['caseworker'] });
    const supervisor = await tokens.token(fo, 'supervisor');
    expect(claims(supervisor).lotse_roles).toEqual(['supervisor', 'caseworker']);
    expect(tokens.signIns).toBe(2);

    await new Promise((r) => setTimeout(r, 2500));
    const renewed = await tokens.token(fo);
    expect(renewed).not.toBe(a);
    expect(claims(renewed).exp).toBeGreaterThan(claims(a).exp);
    expect(tokens.signIns).toBe(3);
    expect(await tokens.token(fo)).toBe(renewed);

    const metadata = await tokens.bearer(fo);
    expect(metadata.get('authorization')).toEqual([`Bearer ${renewed}`]);
    await expect(tokens.token('nowhere')).rejects.toThrow(/no demo account caseworker\.nowhere/);
  });

  it('acts in the role the row of policy/access.yaml names, and as software where it lets the caller without staff', () => {
    const tokens = tokensOf();
    expect(tokens.roleFor('lotse.foreign_office.v1.ForeignOfficeService/RequestReferral', fo, fo)).toBe('caseworker');
    expect(tokens.roleFor('lotse.migration_services.v1.MigrationServicesService/SetCapacity', 'caritas-koblenz', 'caritas-koblenz')).toBe('supervisor');
    expect(tokens.roleFor('lotse.data_protection.v1.DataProtectionService/VerifyAuditChain', fo, fo)).toBe('operator');
    expect(tokens.roleFor('lotse.data_protection.v1.DataProtectionService/VerifyAuditChain', fo, fo, 'dpo')).toBe('dpo');
    expect(tokens.roleFor('lotse.operator.v1.OperatorService/GetOutboxStatus', 'console', fo)).toBe('operator');
    expect(tokens.roleFor('lotse.foreign_office.v1.ForeignOfficeService/GetConsentText', fo, fo)).toBeUndefined();
    // An auditor's own certificate has no demo staff; its rows let it call as software.
    expect(tokens.roleFor('lotse.data_protection.v1.DataProtectionService/VerifyAuditChain', 'test-auditor', fo)).toBeUndefined();
    expect(() => tokens.roleFor('lotse.foreign_office.v1.ForeignOfficeService/RequestReferral', 'test-auditor', fo)).toThrow(/needs a person with the role caseworker or supervisor/);
  });
});
