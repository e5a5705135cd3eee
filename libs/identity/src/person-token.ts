import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AGENCY_CLAIM, isRole, ROLES_CLAIM, type Person } from './staff.js';

/**
 * Verifies the bearer token of a call that acts for a person: signature against the issuer's
 * JWKS (cached by jose and fetched again when a token names an unknown key, so a rotated or
 * revoked key takes effect without a restart), issuer, audience, expiry and not-before with a
 * small clock skew, that a certificate-bound token (RFC 8705, `cnf.x5t#S256`) comes over the
 * certificate it is bound to, and that the token's agency is the agency of the client certificate.
 */
export interface PersonTokenOptions {
  issuer: string;
  audience: string;
  /** Defaults to the issuer's discovery document's jwks_uri. */
  jwksUri?: string;
  clockToleranceSeconds?: number;
  /**
   * How long the issuer's keys are trusted without asking again (default 60 s): a key the issuer
   * stops publishing (rotated out, or revoked) is refused at most this long after.
   */
  jwksCacheMaxAgeMs?: number;
  /** The shortest time between two fetches of the keys when a token names an unknown key (default 5 s). */
  jwksCooldownMs?: number;
  /**
   * `required`: only certificate-bound tokens are taken (the demo network, whose issuer binds
   * every CLI token); `optional` (default): an unbound token is taken too, as a foreign IdP may
   * not bind. A bound token must match the call's certificate either way.
   */
  certificateBound?: 'required' | 'optional';
}

/** Why a token is not accepted: `unauthenticated` (no or bad token) or `wrong-agency`. */
export class PersonTokenError extends Error {
  constructor(
    readonly kind: 'unauthenticated' | 'wrong-agency',
    message: string,
  ) {
    super(message);
  }
}

export interface PersonTokenVerifier {
  /**
   * The person behind `authorization: Bearer …`, checked against the call's client certificate:
   * its agency, and for a bound token its DER bytes (hashed only when the token is bound).
   */
  verify(authorization: string | undefined, certificateAgencyId: string, certificateDer?: Uint8Array): Promise<Person>;
}

/** RFC 8705 §3.1 `x5t#S256`: the base64url SHA-256 of the certificate's DER encoding. */
export const certificateThumbprint = (der: Uint8Array): string => createHash('sha256').update(der).digest('base64url');

export function createPersonTokenVerifier(options: PersonTokenOptions): PersonTokenVerifier {
  let keys: JWTVerifyGetKey | undefined;
  const keySet = async (): Promise<JWTVerifyGetKey> => {
    if (keys) return keys;
    const jwksUri = options.jwksUri ?? (await discoverJwksUri(options.issuer));
    keys = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: options.jwksCooldownMs ?? 5_000, cacheMaxAge: options.jwksCacheMaxAgeMs ?? 60_000 });
    return keys;
  };

  return {
    async verify(authorization, certificateAgencyId, certificateDer) {
      if (!authorization) throw new PersonTokenError('unauthenticated', 'this call acts for a person: send `authorization: Bearer <access token>` (pnpm lotse login)');
      const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization.trim());
      if (!match) throw new PersonTokenError('unauthenticated', 'the authorization header must be `Bearer <access token>`');
      let payload;
      try {
        ({ payload } = await jwtVerify(match[1]!, await keySet(), {
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: options.clockToleranceSeconds ?? 30,
          algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        throw new PersonTokenError('unauthenticated', `access token refused: ${describe(error)}`);
      }
      // Before the agency: a bound token replayed over any other certificate, of another agency or
      // another of the same, is a token its holder does not own.
      checkBinding(payload.cnf, certificateDer, options.certificateBound ?? 'optional');
      const agencyId = payload[AGENCY_CLAIM];
      const roles = payload[ROLES_CLAIM];
      if (typeof agencyId !== 'string' || !Array.isArray(roles) || !roles.every(isRole)) {
        throw new PersonTokenError('unauthenticated', `access token refused: it names no agency (${AGENCY_CLAIM}) or no valid roles (${ROLES_CLAIM})`);
      }
      if (agencyId !== certificateAgencyId) {
        throw new PersonTokenError('wrong-agency', `the access token is for agency ${agencyId}, but the call comes with the certificate of ${certificateAgencyId}`);
      }
      return { sub: payload.sub!, agencyId, roles, issuer: options.issuer, expiresAt: new Date(payload.exp! * 1000) };
    },
  };
}

function checkBinding(cnf: unknown, certificateDer: Uint8Array | undefined, mode: 'required' | 'optional'): void {
  const bound = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>)['x5t#S256'] : undefined;
  if (bound === undefined) {
    if (mode === 'required') throw new PersonTokenError('unauthenticated', 'access token refused: it is not bound to a client certificate (cnf.x5t#S256, RFC 8705); sign in again exchanging the code over mutual TLS (pnpm lotse login)');
    return;
  }
  if (typeof bound !== 'string' || !certificateDer || certificateThumbprint(certificateDer) !== bound) {
    throw new PersonTokenError('unauthenticated', 'access token refused: it is bound to another certificate than the one this call comes with (RFC 8705)');
  }
}

async function discoverJwksUri(issuer: string): Promise<string> {
  const response = await fetch(new URL('/.well-known/openid-configuration', issuer));
  if (!response.ok) throw new PersonTokenError('unauthenticated', `the issuer ${issuer} is not reachable (HTTP ${response.status})`);
  const { jwks_uri } = (await response.json()) as { jwks_uri?: string };
  if (!jwks_uri) throw new PersonTokenError('unauthenticated', `the issuer ${issuer} publishes no jwks_uri`);
  return jwks_uri;
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} is wrong (${error.reason})`;
  if (error instanceof errors.JWKSNoMatchingKey) return 'it is signed with a key the issuer does not publish (rotated or revoked)';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'it is not a well-formed JWT';
  return (error as Error).message;
}
