// Person tokens against the real embedded issuer (oidc-provider on loopback): staff sign in on
// its login page with authorisation code + PKCE, and the verifier accepts exactly the tokens it
// should. Every refusal names what was wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair } from 'jose';
import { startEmbeddedIssuer, type EmbeddedIssuer } from '../src/embedded-issuer.js';
import { createPersonTokenVerifier, PersonTokenError, signInWithPassword, type StaffAccount } from '../src/index.js';

const audience = 'urn:lotse:test';
const redirectUri = 'http://127.0.0.1/lotse-cli/callback';
const clients = [{ clientId: 'lotse-cli', redirectUris: [redirectUri] }];
const staff: StaffAccount[] = [
  { username: 'anna', password: 'demo-anna', sub: 'staff-7f3a', displayName: 'Anna', agencyId: 'abh-test', roles: ['caseworker'] },
  { username: 'olaf', password: 'demo-olaf', sub: 'staff-91c2', displayName: 'Olaf', agencyId: 'mbe-test', roles: ['operator'] },
];

let issuer: EmbeddedIssuer;
const signIn = (username: string, password: string, at = issuer) => signInWithPassword({ issuer: at.issuer, clientId: 'lotse-cli', redirectUri, username, password });

async function refusal(promise: Promise<unknown>): Promise<PersonTokenError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PersonTokenError);
  return error as PersonTokenError;
}

beforeAll(async () => {
  issuer = await startEmbeddedIssuer({ staff, audience, clients, accessTokenTtlSeconds: 120 });
});
afterAll(async () => {
  await issuer?.stop();
});

describe('person tokens from the embedded issuer', () => {
  it('signs staff in through the login page and verifies their agency and roles', async () => {
    const { accessToken, expiresAt } = await signIn('anna', 'demo-anna');
    expect(expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(120_000);
    const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience });
    const person = await verifier.verify(`Bearer ${accessToken}`, 'abh-test');
    expect(person).toEqual({ sub: 'staff-7f3a', agencyId: 'abh-test', roles: ['caseworker'], issuer: issuer.issuer, expiresAt: expect.any(Date) });
    // The token's own exp, which the token response's expires_in was computed from.
    expect(Math.abs(person.expiresAt!.getTime() - expiresAt.getTime())).toBeLessThan(2_000);
  });

  it('refuses a wrong password at the login page', async () => {
    await expect(signIn('anna', 'wrong')).rejects.toThrow(/unknown user or wrong password/);
  });

  it('refuses a missing or malformed header, as unauthenticated', async () => {
    const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience });
    expect(await refusal(verifier.verify(undefined, 'abh-test'))).toMatchObject({ kind: 'unauthenticated', message: expect.stringMatching(/Bearer/) });
    expect(await refusal(verifier.verify('Basic abc', 'abh-test'))).toMatchObject({ kind: 'unauthenticated' });
    expect(await refusal(verifier.verify('Bearer not.a.jwt', 'abh-test'))).toMatchObject({ kind: 'unauthenticated', message: expect.stringMatching(/well-formed|refused/) });
  });

  it('refuses a token over another agency’s certificate (a token replayed at another deployment)', async () => {
    const { accessToken } = await signIn('anna', 'demo-anna');
    const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience });
    expect(await refusal(verifier.verify(`Bearer ${accessToken}`, 'mbe-test'))).toMatchObject({ kind: 'wrong-agency', message: expect.stringMatching(/for agency abh-test.*certificate of mbe-test/) });
  });

  it('refuses a token for another audience', async () => {
    const { accessToken } = await signIn('anna', 'demo-anna');
    const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience: 'urn:lotse:another' });
    expect((await refusal(verifier.verify(`Bearer ${accessToken}`, 'abh-test'))).message).toMatch(/claim aud/);
  });

  it('refuses a token from a different issuer', async () => {
    const other = await startEmbeddedIssuer({ staff, audience, clients });
    try {
      const { accessToken } = await signIn('anna', 'demo-anna', other);
      const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience, jwksUri: `${issuer.issuer}/jwks` });
      const error = await refusal(verifier.verify(`Bearer ${accessToken}`, 'abh-test'));
      expect(error.message).toMatch(/claim iss|key the issuer does not publish/);
    } finally {
      await other.stop();
    }
  });

  it('refuses an expired token, and one signed with a key the issuer does not publish', async () => {
    const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience });
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ lotse_agency: 'abh-test', lotse_roles: ['caseworker'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'not-published' })
      .setIssuer(issuer.issuer)
      .setAudience(audience)
      .setSubject('staff-7f3a')
      .setExpirationTime('2m')
      .sign(privateKey);
    expect((await refusal(verifier.verify(`Bearer ${forged}`, 'abh-test'))).message).toMatch(/key the issuer does not publish/);
    const expired = await new SignJWT({ lotse_agency: 'abh-test', lotse_roles: ['caseworker'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'not-published' })
      .setIssuer(issuer.issuer)
      .setAudience(audience)
      .setSubject('staff-7f3a')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 120)
      .sign(privateKey);
    expect((await refusal(verifier.verify(`Bearer ${expired}`, 'abh-test'))).message).toMatch(/expired|key the issuer does not publish/);
  });

  it('refuses tokens signed with a key the issuer rotated out once its key cache has aged, without a restart of the verifier', async () => {
    const rotating = await startEmbeddedIssuer({ staff, audience, clients });
    const port = rotating.port;
    const { accessToken } = await signIn('anna', 'demo-anna', rotating);
    // Production caches the keys for 60 s; here for no time at all, so the rotation shows at once.
    const verifier = createPersonTokenVerifier({ issuer: rotating.issuer, audience, jwksCacheMaxAgeMs: 0, jwksCooldownMs: 0 });
    expect((await verifier.verify(`Bearer ${accessToken}`, 'abh-test')).sub).toBe('staff-7f3a');
    await rotating.stop();
    // The same issuer URL comes back with a new signing key (rotation, or revocation of the old one).
    const rotated = await startEmbeddedIssuer({ staff, audience, clients, port });
    try {
      const fresh = await signIn('anna', 'demo-anna', rotated);
      expect((await verifier.verify(`Bearer ${fresh.accessToken}`, 'abh-test')).sub).toBe('staff-7f3a');
      expect((await refusal(verifier.verify(`Bearer ${accessToken}`, 'abh-test'))).message).toMatch(/key the issuer does not publish/);
    } finally {
      await rotated.stop();
    }
  });
});
