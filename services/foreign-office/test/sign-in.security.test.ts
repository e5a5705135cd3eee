// People sign in: a foreign office that trusts an OpenID issuer (here the real embedded one,
// oidc-provider on loopback) serves a caseworker's RPC only with a verified access token of a
// caseworker of that office, and its audit trail names the token's staff id, not the header.
// Every refusal writes nothing.
import { Metadata, status } from '@grpc/grpc-js';
import { verifyAuditChain } from '@lotse/audit';
import { sql } from '@lotse/db';
import { signInWithPassword, type StaffAccount } from '@lotse/identity';
import { startEmbeddedIssuer, type EmbeddedIssuer } from '@lotse/identity/issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newcomerRequest, startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

const audience = 'urn:lotse:sign-in-test';
const redirectUri = 'http://127.0.0.1/lotse-cli/callback';
const staff: StaffAccount[] = [];
let issuer: EmbeddedIssuer;
let office: ForeignOfficeUnderTest;

const bearer = (token: string, extra: Record<string, string> = {}) => {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  for (const [k, v] of Object.entries(extra)) metadata.set(k, v);
  return metadata;
};
const tokenOf = async (username: string) => (await signInWithPassword({ issuer: issuer.issuer, clientId: 'lotse-cli', redirectUri, username, password: `pw-${username}` })).accessToken;
const newcomers = () => office.count('newcomer');

async function refused(call: Promise<unknown>, code: status, message: RegExp) {
  const error = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: number; details: string } | undefined;
  expect(error, 'the call should have been refused').toBeDefined();
  expect(status[error!.code]).toBe(status[code]);
  expect(error!.details).toMatch(message);
}

beforeAll(async () => {
  issuer = await startEmbeddedIssuer({ staff, audience, clients: [{ clientId: 'lotse-cli', redirectUris: [redirectUri] }], accessTokenTtlSeconds: 120 });
  office = await startForeignOfficeFixture({ env: { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: audience } });
  const member = (username: string, agencyId: string, roles: StaffAccount['roles']): StaffAccount => ({ username, password: `pw-${username}`, sub: `staff-${username}`, displayName: username, agencyId, roles });
  staff.push(member('anna', office.foId, ['caseworker']), member('olaf', office.foId, ['operator']), member('carla', office.caritasId, ['caseworker']), member('abc123', office.foId, ['caseworker']));
});

afterAll(async () => {
  await office?.stop();
  await issuer?.stop();
});

describe('a foreign office that signs people in', () => {
  it('refuses a caseworker RPC without a token, as UNAUTHENTICATED, and writes nothing', async () => {
    const before = await newcomers();
    await refused(office.fo.registerNewcomer(newcomerRequest()), status.UNAUTHENTICATED, /acts for a person: send `authorization: Bearer/);
    await refused(office.fo.registerNewcomer(newcomerRequest(), { metadata: bearer('not-a-token') }), status.UNAUTHENTICATED, /access token refused/);
    expect(await newcomers()).toBe(before);
  });

  it('refuses a token of another agency over its certificate, and a role that lacks the permission', async () => {
    const before = await newcomers();
    await refused(office.fo.registerNewcomer(newcomerRequest(), { metadata: bearer(await tokenOf('carla')) }), status.PERMISSION_DENIED, new RegExp(`for agency ${office.caritasId}.*certificate of ${office.foId}`));
    await refused(office.fo.registerNewcomer(newcomerRequest(), { metadata: bearer(await tokenOf('olaf')) }), status.PERMISSION_DENIED, /needs the role caseworker or supervisor; the signed-in person has operator/);
    expect(await newcomers()).toBe(before);
  });

  it('serves a signed-in caseworker and records the verified staff id in the audit trail, whatever the header says', async () => {
    const { newcomer } = await office.fo.registerNewcomer(newcomerRequest(), { metadata: bearer(await tokenOf('anna'), { 'x-lotse-caseworker': 'mallory' }) });
    const { rows: entries } = await sql<{ actor_agency_id: string; caseworker_id: string | null; actor_roles: string[] | null }>`select actor_agency_id, caseworker_id, actor_roles from audit_log where subject_ref = ${newcomer!.caseRef}`.execute(office.query.db);
    expect(entries.length).toBeGreaterThan(0);
    // The role comes from the verified token too, and the chain covers it.
    expect(entries.every((e) => e.caseworker_id === 'staff-anna' && e.actor_agency_id === office.foId && JSON.stringify(e.actor_roles) === '["caseworker"]')).toBe(true);
    expect(await verifyAuditChain(office.query.db)).toMatchObject({ ok: true });
  });

  it('the newcomer’s transparency report names the signed-in person’s role, never the staff id', async () => {
    const token = await tokenOf('abc123');
    const { newcomer } = await office.fo.registerNewcomer(newcomerRequest(), { metadata: bearer(token) });
    const de = await office.report.getTransparencyReport({ newcomerId: newcomer!.newcomerId, language: 'de' }, { metadata: bearer(token) });
    const en = await office.report.getTransparencyReport({ newcomerId: newcomer!.newcomerId, language: 'en' }, { metadata: bearer(token) });
    expect(de.html).toContain('<td>Sachbearbeitung</td>');
    expect(en.html).toContain('<td>caseworker</td>');
    expect(de.html).not.toContain('staff-abc123');
    expect(en.html).not.toContain('staff-abc123');
    // The audit entries as collected still carry it: the office's staff see them, not the newcomer.
    expect(de.agencies[0]!.report!.auditEntries.map((e) => [e.caseworkerId, e.actorRoles])).toContainEqual(['staff-abc123', ['caseworker']]);
  });

  it('lets other deployments call as software where the matrix says so', async () => {
    // The consent text is public to the network; no person is needed.
    await expect(office.caritas.getConsentText({ textVersion: 'mbe-einwilligung-2026-01', language: 'de' })).resolves.toBeDefined();
  });
});
