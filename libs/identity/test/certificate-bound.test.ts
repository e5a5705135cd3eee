// Certificate-bound access tokens (RFC 8705) against the real embedded issuer: its token endpoint
// has an alias on a second, mutual-TLS listener with the network's CA; a token exchanged there
// carries the thumbprint of the client certificate (`cnf.x5t#S256`), and the verifier accepts it
// only with that certificate. The browser-facing endpoints stay on plain loopback HTTP.
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevPki, loadIdentity, type TlsIdentity } from '../../pki/src/index.js';
import { startEmbeddedIssuer, type EmbeddedIssuer } from '../src/embedded-issuer.js';
import { certificateThumbprint, createPersonTokenVerifier, PersonTokenError, signInWithPassword, type StaffAccount } from '../src/index.js';

const audience = 'urn:lotse:bound-test';
const redirectUri = 'http://127.0.0.1/lotse-cli/callback';
const staff: StaffAccount[] = [{ username: 'anna', password: 'demo-anna', sub: 'staff-7f3a', displayName: 'Anna', agencyId: 'abh-test', roles: ['caseworker'] }];
const root = mkdtempSync(join(tmpdir(), 'lotse-bound-'));
const pki = join(root, 'pki');
let issuer: EmbeddedIssuer;
let own: TlsIdentity;
let sameAgencyOtherKey: TlsIdentity;
let otherCa: TlsIdentity;

const der = (identity: TlsIdentity) => new X509Certificate(identity.cert).raw;
const signIn = (certificate?: TlsIdentity, clientId = 'lotse-cli') => signInWithPassword({ issuer: issuer.issuer, clientId, redirectUri, username: 'anna', password: 'demo-anna', ...(certificate && { certificate }) });

/** A POST to the alias with the given TLS material: the HTTP status, or the connection's error. */
function postTo(url: string, tls: Partial<TlsIdentity>): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', ...tls, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', resolve);
    req.end('grant_type=authorization_code&code=x&client_id=lotse-cli');
  });
}

async function refusal(promise: Promise<unknown>): Promise<PersonTokenError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PersonTokenError);
  return error as PersonTokenError;
}

beforeAll(async () => {
  await ensureDevPki(pki, [
    { id: 'abh-test', agencyType: 'foreign-office' },
    { id: 'issuer', agencyType: 'issuer' },
  ]);
  own = loadIdentity(pki, 'abh-test');
  // The same CA and the same deployment id, another key: a second certificate of the same agency.
  const second = join(root, 'second');
  mkdirSync(second, { mode: 0o700 });
  for (const f of ['ca.crt', 'ca.key']) copyFileSync(join(pki, f), join(second, f));
  await ensureDevPki(second, [{ id: 'abh-test', agencyType: 'foreign-office' }]);
  sameAgencyOtherKey = loadIdentity(second, 'abh-test');
  await ensureDevPki(join(root, 'rogue'), [{ id: 'abh-test', agencyType: 'foreign-office' }]);
  otherCa = loadIdentity(join(root, 'rogue'), 'abh-test');
  issuer = await startEmbeddedIssuer({
    staff,
    audience,
    clients: [
      { clientId: 'lotse-cli', redirectUris: [redirectUri], certificateBound: true },
      // A client that is not bound, as a browser-only client or a foreign IdP's would be.
      { clientId: 'lotse-web', redirectUris: [redirectUri] },
    ],
    mtls: { identity: loadIdentity(pki, 'issuer') },
    accessTokenTtlSeconds: 120,
  });
});

afterAll(async () => {
  await issuer?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('certificate-bound access tokens (RFC 8705)', () => {
  it('advertises the mutual-TLS token endpoint as mtls_endpoint_aliases; authorize stays on plain loopback HTTP', async () => {
    const discovery = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as Record<string, any>;
    expect(discovery.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(discovery.mtls_endpoint_aliases?.token_endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/token$/);
    expect(discovery.mtls_endpoint_aliases.token_endpoint).not.toBe(discovery.token_endpoint);
    expect(discovery.authorization_endpoint).toBe(`${issuer.issuer}/auth`);
  });

  it('the alias refuses a connection without a client certificate, or with one of another CA', async () => {
    const alias = issuer.mtlsTokenEndpoint!;
    expect(await postTo(alias, { ca: own.ca })).toBeInstanceOf(Error);
    expect(await postTo(alias, { ca: own.ca, cert: otherCa.cert, key: otherCa.key })).toBeInstanceOf(Error);
    // With the network's certificate the connection is taken (the made-up code is then refused).
    expect(await postTo(alias, { ca: own.ca, cert: own.cert, key: own.key })).toBe(400);
  });

  it('binds the token to the certificate the code was exchanged with', async () => {
    const { accessToken } = await signIn(own);
    const claims = decodeJwt(accessToken) as { cnf?: Record<string, string> };
    expect(claims.cnf).toEqual({ 'x5t#S256': certificateThumbprint(der(own)) });
    const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience, certificateBound: 'required' });
    expect(await verifier.verify(`Bearer ${accessToken}`, 'abh-test', der(own))).toMatchObject({ sub: 'staff-7f3a', agencyId: 'abh-test' });
  });

  it('refuses a bound token over another certificate of the same agency, or with no certificate named', async () => {
    const { accessToken } = await signIn(own);
    const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience });
    expect(await refusal(verifier.verify(`Bearer ${accessToken}`, 'abh-test', der(sameAgencyOtherKey)))).toMatchObject({ kind: 'unauthenticated', message: expect.stringMatching(/bound to another certificate/) });
    expect(await refusal(verifier.verify(`Bearer ${accessToken}`, 'abh-test'))).toMatchObject({ kind: 'unauthenticated', message: expect.stringMatching(/bound to another certificate/) });
  });

  it('a bound client cannot get a token at the plain token endpoint', async () => {
    await expect(signIn(undefined)).rejects.toThrow(/certificate/);
  });

  it('with `required`, refuses an unbound token; `optional` takes it', async () => {
    const { accessToken } = await signIn(own, 'lotse-web');
    expect(decodeJwt(accessToken).cnf).toBeUndefined();
    const required = createPersonTokenVerifier({ issuer: issuer.issuer, audience, certificateBound: 'required' });
    expect(await refusal(required.verify(`Bearer ${accessToken}`, 'abh-test', der(own)))).toMatchObject({ kind: 'unauthenticated', message: expect.stringMatching(/not bound to a client certificate/) });
    const optional = createPersonTokenVerifier({ issuer: issuer.issuer, audience, certificateBound: 'optional' });
    expect((await optional.verify(`Bearer ${accessToken}`, 'abh-test', der(own))).sub).toBe('staff-7f3a');
  });
});
