// Sign-in at the console (when it has an issuer): the browser goes through authorisation code +
// PKCE to the issuer's login page and back; the console keeps the tokens in a server-side session
// and gives the browser only a random session id. Without a session nothing but health, OTLP
// ingestion and these routes answers: the API says 401, a page sends the browser to sign in.
import type { ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { SignInFailedError, type ConsoleOidc } from '../sign-in/oidc-client.js';
import type { SessionStore } from '../sign-in/sessions.js';
import { cookie } from './auth.js';
import { HttpError, type Request, type Router } from './http-server.js';

export const sessionCookie = 'lotse_session';
const flowCookie = 'lotse_signin';

export interface SignInDeps {
  oidc: ConsoleOidc;
  sessions: SessionStore;
  /** The console's address as browsers reach it (CONSOLE_URL, or where it listens). */
  publicUrl(): string;
  logger: Logger;
  now(): number;
}

/** What answers without a session: health, telemetry (it has its own tokens), signing in itself and the sign-in pages' style. */
const open = (path: string) => path === '/healthz' || path.startsWith('/v1/') || path.startsWith('/auth/') || path === '/style.css' || path === '/favicon.svg';
/** Only a page is sent on to sign in; a script or an API call is refused (a redirect there would start a sign-in of its own). */
const isPage = (path: string) => path === '/' || path.endsWith('.html');

/** The Router's gate: finds the session, or answers 401 (API, other methods) or sends a page to sign in. */
export function signInGate({ sessions }: SignInDeps) {
  return (req: Request, res: ServerResponse): boolean => {
    if (open(req.path)) return true;
    const session = sessions.get(cookie(req, sessionCookie));
    if (session) {
      req.session = session;
      return true;
    }
    if (!isPage(req.path) || (req.method !== 'GET' && req.method !== 'HEAD')) {
      throw new HttpError(401, 'sign in first: open the console in the browser, or go to /auth/login', 'UNAUTHENTICATED');
    }
    redirect(res, `/auth/login?return=${encodeURIComponent(req.path)}`);
    return false;
  };
}

export function registerSignInRoutes(router: Router, deps: SignInDeps): void {
  const { oidc, sessions, logger } = deps;
  const secure = () => deps.publicUrl().startsWith('https:');
  const cookieFlags = () => `HttpOnly; SameSite=Lax${secure() ? '; Secure' : ''}`;
  const callbackUrl = () => `${deps.publicUrl()}/auth/callback`;

  router.on('GET', '/healthz', () => ({ status: 'ok' }));

  router.on('GET', '/auth/login', async (req, res) => {
    const { url, flow } = await oidc.start(callbackUrl()).catch(failedPage(res));
    const id = sessions.begin({ ...flow, returnTo: localPath(req.query.get('return')) });
    // Ties the issuer's answer to this browser: a callback URL passed to someone else finds no flow.
    res.setHeader('Set-Cookie', `${flowCookie}=${id}; ${cookieFlags()}; Path=/auth; Max-Age=600`);
    redirect(res, url.href);
  });

  router.on('GET', '/auth/callback', async (req, res) => {
    const flow = sessions.take(cookie(req, flowCookie));
    const clearFlow = `${flowCookie}=; ${cookieFlags()}; Path=/auth; Max-Age=0`;
    if (!flow) {
      res.setHeader('Set-Cookie', clearFlow);
      return page(res, 400, 'Sign-in not recognised', 'This sign-in was not started in this browser, or it took longer than ten minutes.');
    }
    const signedIn = await oidc.finish(new URL(req.raw.url ?? '/', deps.publicUrl()), flow).catch((error: unknown) => {
      res.setHeader('Set-Cookie', clearFlow);
      return failedPage(res)(error);
    });
    const session = sessions.create(signedIn);
    const maxAge = Math.max(1, Math.floor((session.expiresAt - deps.now()) / 1000));
    res.setHeader('Set-Cookie', [clearFlow, `${sessionCookie}=${session.id}; ${cookieFlags()}; Path=/; Max-Age=${maxAge}`]);
    // The staff id is pseudonymous; the name stays out of the log.
    logger.info({ staff_id: session.person.sub, roles: session.person.roles }, 'operator signed in');
    redirect(res, flow.returnTo);
  });

  // POST, so another site cannot sign an operator out with a link or an image.
  router.on('POST', '/auth/logout', async (req, res) => {
    const ended = sessions.end(cookie(req, sessionCookie));
    res.setHeader('Set-Cookie', `${sessionCookie}=; ${cookieFlags()}; Path=/; Max-Age=0`);
    if (ended) logger.info({ staff_id: ended.person.sub }, 'operator signed out');
    // The issuer's session ends too, or the next sign-in would pass its login page unasked.
    const issuer = await oidc.endSessionUrl(ended?.idToken, `${deps.publicUrl()}/auth/signed-out`);
    return { signedOut: true, location: issuer?.href ?? '/auth/signed-out' };
  });

  router.on('GET', '/auth/signed-out', (_req, res) => page(res, 200, 'Signed out', 'You are signed out of the Lotse console.'));

  router.on('GET', '/api/me', (req) => {
    const session = req.session!;
    const { sub, username, displayName, roles, agencyId } = session.person;
    return { signIn: true, person: { sub, username: username ?? null, displayName: displayName ?? null, roles, agencyId }, mayAct: roles.includes('operator'), expiresAt: new Date(session.expiresAt).toISOString() };
  });
}

/** Only a path of this console (no scheme, no `//host`): the return address must not lead elsewhere. */
function localPath(raw: string | null): string {
  return raw && /^\/(?![/\\])[\w\-./~%]*$/.test(raw) ? raw : '/';
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location, 'Cache-Control': 'no-store' });
  res.end();
}

/** A sign-in that went wrong ends on a page saying why, with a way to start again. */
function failedPage(res: ServerResponse) {
  return (error: unknown): never => {
    if (!(error instanceof SignInFailedError)) throw error;
    page(res, error.status, 'Sign-in failed', error.message);
    throw new HttpError(error.status, error.message, 'SIGN_IN_FAILED');
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: ServerResponse, status: number, title: string, text: string): void {
  if (res.headersSent) return;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lotse console · ${escapeHtml(title)}</title><link rel="stylesheet" href="/style.css"></head>
<body><main class="panel signed-out"><h1>${escapeHtml(title)}</h1><p role="${status >= 400 ? 'alert' : 'status'}">${escapeHtml(text)}</p><p><a href="/auth/login">Sign in</a></p></main></body></html>`;
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'" });
  res.end(html);
}
