// Certificate-bound tokens (RFC 8705) at a real foreign office: the embedded issuer binds the
// caseworker's token to the certificate it was exchanged with (its mutual-TLS token endpoint,
// certificates of the office's network), and the office, with OIDC_CERT_BOUND_TOKENS=required,
// serves it only over that certificate. The same token over another certificate — a second one of
// the same office, or a provider's — is UNAUTHENTICATED; so is an unbound token. Nothing is written.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { foreignOffice } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { createClient } from '@lotse/grpc';
import { signInWithPassword, type StaffAccount } from '@lotse/identity';
import { startEmbeddedIssuer, type EmbeddedIssuer } from '@lotse/identity/issuer';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newcomerRequest, startForeignOffice, type FoClient, type ForeignOfficeUnderTest } from './support.js';

const audience = 'urn:lotse:bound-test';
const redirectUri = 'http://127.0.0.1/lotse-cli/callback';
const staff: StaffAccount[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'lotse-fo-bound-'));
let issuer: EmbeddedIssuer;
let office: ForeignOfficeUnderTest;
/** The office's deployment id with another key, signed by the same CA. */
let secondCertificate: FoClient;

const bearer = (token: string) => {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
};
const boundToken = async () => (await signInWithPassword({ issuer: issuer.issuer, clientId: 'lotse-cli', redirectUri, username: 'anna', password: 'pw-anna', certificate: loadIdentity(office.pkiDir, office.foId) })).accessToken;
const writes = async () => [await office.count('newcomer'), await office.count('audit_log')];

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
  office = await startForeignOffice({
    env: async (pkiDir) => {
      await ensureDevPki(pkiDir, [{ id: 'issuer', agencyType: 'issuer' }]);
      issuer = await startEmbeddedIssuer({
        staff,
        audience,
        clients: [
          { clientId: 'lotse-cli', redirectUris: [redirectUri], certificateBound: true },
          { clientId: 'lotse-unbound', redirectUris: [redirectUri] },
        ],
        mtls: { identity: loadIdentity(pkiDir, 'issuer') },
        accessTokenTtlSeconds: 120,
      });
      return { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: audience, OIDC_CERT_BOUND_TOKENS: 'required' };
    },
  });
  staff.push({ username: 'anna', password: 'pw-anna', sub: 'staff-anna', displayName: 'anna', agencyId: office.foId, roles: ['caseworker'] });
  mkdirSync(join(scratch, 'pki'), { mode: 0o700 });
  for (const file of ['ca.crt', 'ca.key']) copyFileSync(join(office.pkiDir, file), join(scratch, 'pki', file));
  await ensureDevPki(join(scratch, 'pki'), [{ id: office.foId, agencyType: 'foreign-office' }]);
  secondCertificate = createClient(foreignOffice.ForeignOfficeServiceClient, `127.0.0.1:${office.running.grpcPort}`, loadIdentity(join(scratch, 'pki'), office.foId), { deadlineMs: 20_000 });
});

afterAll(async () => {
  secondCertificate?.close();
  await office?.stop();
  await issuer?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a foreign office that takes only certificate-bound tokens', () => {
  it('serves a bound token over the certificate it is bound to', async () => {
    const { newcomer } = await office.fo.registerNewcomer(newcomerRequest(), { metadata: bearer(await boundToken()) });
    const { rows } = await sql<{ caseworker_id: string }>`select caseworker_id from audit_log where subject_ref = ${newcomer!.caseRef}`.execute(office.query.db);
    expect(rows.map((r) => r.caseworker_id)).toContain('staff-anna');
  });

  it('refuses the same token over another certificate of the same office, as UNAUTHENTICATED, and writes nothing', async () => {
    const token = await boundToken();
    const before = await writes();
    await refused(secondCertificate.registerNewcomer(newcomerRequest(), { metadata: bearer(token) }), status.UNAUTHENTICATED, /bound to another certificate/);
    expect(await writes()).toEqual(before);
  });

  it('refuses the same token over another agency’s certificate, as UNAUTHENTICATED, and writes nothing', async () => {
    const token = await boundToken();
    const before = await writes();
    // A provider may withdraw a consent (with a person or as software): the token is checked before the handler.
    await refused(office.caritas.withdrawConsent(foreignOffice.WithdrawConsentRequest.fromPartial({ requestId: 'replayed-1', consentId: '00000000-0000-7000-8000-000000000000' }), { metadata: bearer(token) }), status.UNAUTHENTICATED, /bound to another certificate/);
    expect(await writes()).toEqual(before);
  });

  it('refuses an unbound token, as UNAUTHENTICATED, and writes nothing', async () => {
    // Exchanged over mutual TLS too, but by a client the issuer does not bind.
    const { accessToken } = await signInWithPassword({ issuer: issuer.issuer, clientId: 'lotse-unbound', redirectUri, username: 'anna', password: 'pw-anna', certificate: loadIdentity(office.pkiDir, office.foId) });
    const before = await writes();
    await refused(office.fo.registerNewcomer(newcomerRequest(), { metadata: bearer(accessToken) }), status.UNAUTHENTICATED, /not bound to a client certificate/);
    expect(await writes()).toEqual(before);
  });
});
