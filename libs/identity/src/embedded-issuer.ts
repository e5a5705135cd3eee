import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { AGENCY_CLAIM, ROLES_CLAIM, type StaffAccount } from './staff.js';
import { loginPage, logoutPage } from './login-page.js';
import { certificateOf, startMtlsListener, tokenEndpointOnly, type IssuerTlsIdentity } from './mtls-listener.js';
import { keepIdleConnectionsOpen } from './http-keep-alive.js';

/**
 * The OpenID provider `pnpm start` runs when no OIDC_ISSUER is configured: oidc-provider (a
 * certified implementation), not a token signer of our own. Staff sign in on its login page
 * with authorisation code + PKCE; access tokens are short-lived JWTs for the Lotse audience,
 * carrying the agency and the roles of the member of staff.
 */
export interface EmbeddedIssuerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Read on every sign-in, so staff added later (a test's, a new agency's) can sign in too. */
  staff: StaffAccount[];
  audience: string;
  /**
   * Public clients (no secret, PKCE), the redirect URIs each may use and where each may send the
   * browser after signing out. A `certificateBound` client gets only certificate-bound tokens
   * (RFC 8705 `tls_client_certificate_bound_access_tokens`): it must exchange its code at the
   * mutual-TLS alias; needs `mtls`.
   */
  clients: { clientId: string; redirectUris: string[]; postLogoutRedirectUris?: string[]; certificateBound?: boolean }[];
  accessTokenTtlSeconds?: number;
  /**
   * Binds access tokens to the client certificate (RFC 8705): a second listener, HTTPS with the
   * network's CA requiring a client certificate of the network, advertised in discovery as
   * `mtls_endpoint_aliases.token_endpoint`. A token exchanged there carries `cnf.x5t#S256`.
   */
  mtls?: { identity: IssuerTlsIdentity; port?: number };
}

export interface EmbeddedIssuer {
  issuer: string;
  port: number;
  /** The token endpoint's mutual-TLS alias, when `mtls` is given. */
  mtlsTokenEndpoint?: string;
  stop(): Promise<void>;
}

export async function startEmbeddedIssuer(options: EmbeddedIssuerOptions): Promise<EmbeddedIssuer> {
  const host = options.host ?? '127.0.0.1';
  const server = keepIdleConnectionsOpen(createServer());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${host}:${port}`;
  const mtls = options.mtls && (await startMtlsListener(host, options.mtls.port ?? 0, options.mtls.identity).catch(async (error: unknown) => {
    await closeServer(server);
    throw error;
  }));
  const mtlsTokenEndpoint = mtls && `https://${host}:${mtls.port}${TOKEN_PATH}`;
  const provider = new Provider(issuer, await configuration(options, mtlsTokenEndpoint));
  // Plain HTTP on loopback only; behind a proxy in production the issuer is an https URL.
  provider.proxy = true;
  const oidc = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(new URL(req.url ?? '/', issuer).pathname);
    if (!match) return oidc(req, res);
    handleInteraction(provider, options.staff, req, res, Boolean(match[2])).catch((error: unknown) => {
      res.statusCode = 400;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`sign-in failed: ${(error as Error).message}`);
    });
  });

  mtls?.server.on('request', tokenEndpointOnly(oidc, TOKEN_PATH));

  return {
    issuer,
    port,
    ...(mtlsTokenEndpoint && { mtlsTokenEndpoint }),
    stop: async () => {
      await Promise.all([closeServer(server), mtls && closeServer(mtls.server)]);
    },
  };
}

const TOKEN_PATH = '/token';

async function configuration(options: EmbeddedIssuerOptions, mtlsTokenEndpoint: string | undefined): Promise<Configuration> {
  const unbindable = options.clients.find((c) => c.certificateBound && !mtlsTokenEndpoint);
  if (unbindable) throw new Error(`client ${unbindable.clientId} is certificate-bound, but the issuer has no mutual-TLS listener (mtls)`);
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' };
  const accounts = { get: (sub: string) => options.staff.find((s) => s.sub === sub) };
  const ttl = options.accessTokenTtlSeconds ?? 300;
  return {
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      token_endpoint_auth_method: 'none',
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
      ...(c.certificateBound && { tls_client_certificate_bound_access_tokens: true }),
    })),
    pkce: { required: () => true },
    routes: { token: TOKEN_PATH },
    // RFC 8705 §5: where a client with a certificate exchanges its code.
    ...(mtlsTokenEndpoint && { discovery: { mtls_endpoint_aliases: { token_endpoint: mtlsTokenEndpoint } } }),
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.type = 'html';
          ctx.body = logoutPage(form);
        },
      },
      ...(mtlsTokenEndpoint && { mTLS: { enabled: true, certificateBoundAccessTokens: true, getCertificate: (ctx: KoaContextWithOIDC) => certificateOf(ctx.req) } }),
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'lotse',
          audience: options.audience,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    scopes: ['openid', 'profile', 'lotse'],
    // `profile` lets a client with a screen (the console) show who is signed in; the name stays
    // in the ID token (conformIdTokenClaims off), never in the access tokens services receive.
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], lotse: [AGENCY_CLAIM, ROLES_CLAIM] },
    conformIdTokenClaims: false,
    ttl: { AccessToken: ttl, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, IdToken: ttl },
    findAccount: (_ctx, sub) => {
      const staff = accounts.get(sub);
      if (!staff) return undefined;
      return { accountId: sub, claims: () => ({ sub, name: staff.displayName, preferred_username: staff.username, [AGENCY_CLAIM]: staff.agencyId, [ROLES_CLAIM]: staff.roles }) };
    },
    extraTokenClaims: (_ctx, token) => {
      const staff = 'accountId' in token && typeof token.accountId === 'string' ? accounts.get(token.accountId) : undefined;
      return staff ? { [AGENCY_CLAIM]: staff.agencyId, [ROLES_CLAIM]: staff.roles } : undefined;
    },
    // Lotse's own clients are first-party: staff are not asked to consent to them.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { provider } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return provider.Grant.find(grantId);
      const grant = new provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid profile lotse');
      grant.addResourceScope(options.audience, 'lotse');
      await grant.save();
      return grant;
    },
    renderError: (ctx, out) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${out.error}: ${out.error_description ?? ''}`;
    },
  };
}

async function handleInteraction(provider: Provider, staff: StaffAccount[], req: IncomingMessage, res: ServerResponse, submitted: boolean) {
  const details = await provider.interactionDetails(req, res);
  if (!submitted) {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(loginPage({ action: `/interaction/${details.uid}/login` }));
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const account = staff.find((s) => s.username === form.get('username'));
  if (!account || account.password !== form.get('password')) {
    res.statusCode = 401;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(loginPage({ action: `/interaction/${details.uid}/login`, error: 'Unknown user or wrong password / Benutzer unbekannt oder Passwort falsch' }));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16_384) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function closeServer(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
