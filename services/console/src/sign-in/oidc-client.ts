import { X509Certificate } from 'node:crypto';
import * as client from 'openid-client';
import { createPersonTokenVerifier, mtlsFetch, PersonTokenError, type ClientCertificate } from '@lotse/identity';
import type { ConsoleSignInConfig } from '../config.js';
import type { PendingSignIn, SignedInPerson } from './sessions.js';

/** Why a sign-in did not end in a session: 400 a bad or stale callback, 403 a person this console does not serve, 502 the issuer. */
export class SignInFailedError extends Error {
  constructor(
    readonly status: 400 | 403 | 502,
    message: string,
  ) {
    super(message);
    this.name = 'SignInFailedError';
  }
}

export interface SignedInTokens {
  person: SignedInPerson;
  accessToken: string;
  idToken?: string;
  expiresAt: number;
}

export interface ConsoleOidc {
  /** Where to send the browser, with a fresh state, nonce and PKCE challenge (S256) for this flow. */
  start(redirectUri: string): Promise<{ url: URL; flow: Omit<PendingSignIn, 'returnTo' | 'startedAt'> }>;
  /** The issuer came back to `callbackUrl`: check state and nonce, redeem the code, verify the access token. */
  finish(callbackUrl: URL, flow: PendingSignIn): Promise<SignedInTokens>;
  /** The issuer's sign-out page, so the issuer's own session ends too; undefined if it has none. */
  endSessionUrl(idToken: string | undefined, postLogoutRedirectUri: string): Promise<URL | undefined>;
}

/**
 * The console as an OpenID client, on openid-client (a certified relying party, by the author of
 * the issuer's library) rather than hand-made protocol code: it checks state, the ID token's
 * issuer, audience, nonce and expiry, and sends the PKCE verifier. The access token, which goes
 * on to the deployments, is verified with the same verifier they use (signature via the issuer's
 * JWKS, issuer, audience, expiry), and its agency must be the console's own.
 *
 * Where the issuer offers a mutual-TLS alias of its token endpoint (RFC 8705), the code is
 * exchanged there with the console's certificate, so the token is bound to the certificate the
 * console's calls to the deployments come with: stolen from the console, it is of no use elsewhere.
 */
export function createConsoleOidc(config: ConsoleSignInConfig, consoleId: string, certificate: ClientCertificate): ConsoleOidc {
  let discovered: Promise<client.Configuration> | undefined;
  const withMtls = (oidc: client.Configuration) => {
    const alias = oidc.serverMetadata().mtls_endpoint_aliases?.token_endpoint;
    if (alias) {
      const overMtls = mtlsFetch(certificate);
      oidc[client.customFetch] = (url, options) => (String(url) === alias ? overMtls(url, options) : fetch(url, options));
    }
    return oidc;
  };
  const configuration = (): Promise<client.Configuration> =>
    (discovered ??= client
      .discovery(new URL(config.issuer), config.clientId, { use_mtls_endpoint_aliases: true }, client.None(), plainHttpOnLoopback(config.issuer) ? { execute: [client.allowInsecureRequests] } : undefined)
      .then(withMtls)
      .catch((error: unknown) => {
        discovered = undefined; // try again on the next sign-in: the issuer may not be up yet
        throw new SignInFailedError(502, `the OpenID issuer ${config.issuer} is not reachable: ${(error as Error).message}`);
      }));
  const verifier = createPersonTokenVerifier({ issuer: config.issuer, audience: config.audience });
  // A token bound to the console's certificate is checked against it, as the deployments will.
  const ownCertificate = new X509Certificate(certificate.cert).raw;

  return {
    async start(redirectUri) {
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(await configuration(), {
        redirect_uri: redirectUri,
        scope: 'openid profile lotse',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url, flow: { state, nonce, codeVerifier } };
    },

    async finish(callbackUrl, flow) {
      const oidc = await configuration();
      let tokens;
      try {
        tokens = await client.authorizationCodeGrant(oidc, callbackUrl, { pkceCodeVerifier: flow.codeVerifier, expectedState: flow.state, expectedNonce: flow.nonce });
      } catch (error) {
        if (error instanceof client.AuthorizationResponseError) throw new SignInFailedError(400, `the issuer did not sign you in: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
        if (error instanceof client.ResponseBodyError) throw new SignInFailedError(502, `the issuer refused the code: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
        throw new SignInFailedError(400, `the sign-in answer does not check out: ${(error as Error).message}`);
      }
      let person;
      try {
        person = await verifier.verify(`Bearer ${tokens.access_token}`, consoleId, ownCertificate);
      } catch (error) {
        if (error instanceof PersonTokenError && error.kind === 'wrong-agency') throw new SignInFailedError(403, `this console serves the staff of ${consoleId} only; ${error.message}`);
        throw new SignInFailedError(502, (error as Error).message);
      }
      const idToken = tokens.claims();
      if (idToken && idToken.sub !== person.sub) throw new SignInFailedError(502, 'the issuer’s ID token and access token name different people');
      const text = (v: unknown) => (typeof v === 'string' && v ? v.slice(0, 200) : undefined);
      return {
        person: { sub: person.sub, agencyId: person.agencyId, roles: person.roles, username: text(idToken?.preferred_username), displayName: text(idToken?.name) },
        accessToken: tokens.access_token,
        idToken: tokens.id_token,
        expiresAt: person.expiresAt!.getTime(),
      };
    },

    async endSessionUrl(idToken, postLogoutRedirectUri) {
      const oidc = await configuration().catch(() => undefined);
      if (!oidc?.serverMetadata().end_session_endpoint) return undefined;
      return client.buildEndSessionUrl(oidc, { post_logout_redirect_uri: postLogoutRedirectUri, client_id: config.clientId, ...(idToken && { id_token_hint: idToken }) });
    },
  };
}

/** The embedded issuer of `pnpm start` speaks plain HTTP on loopback; anything else must be https. */
function plainHttpOnLoopback(issuer: string): boolean {
  const url = new URL(issuer);
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}
