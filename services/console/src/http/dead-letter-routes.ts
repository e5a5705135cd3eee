// The dead letters of every deployment: listed and inspected by anyone with the console, replayed
// or discarded only by the operator (signed in with the operator role, or without an issuer
// logged in once with the operator token).
import { DeadLetterError } from '../operator/dead-letters.js';
import type { ApiDeps } from './api.js';
import { isAdminToken, operatorCookie } from './auth.js';
import { HttpError, type Request, type Router } from './http-server.js';

function fromDeadLetter(error: unknown): HttpError {
  if (!(error instanceof DeadLetterError)) return error as HttpError;
  const status = { NOT_FOUND: 404, INVALID_ARGUMENT: 400, FAILED_PRECONDITION: 409, PERMISSION_DENIED: 403 }[error.status] ?? 502;
  return new HttpError(status, error.message, error.status);
}

/** POSTs from the page must be JSON: a cross-site form cannot send that without a CORS preflight. */
function requireJson(req: Request): void {
  if (!(req.headers['content-type'] ?? '').includes('application/json')) throw new HttpError(415, 'send application/json', 'UNSUPPORTED_MEDIA_TYPE');
}

export function registerDeadLetterRoutes(router: Router, { deadLetters, live, auth, operators }: ApiDeps): void {
  // --- dead letters ----------------------------------------------------------------------------
  router.on('GET', '/api/dead-letters', async (req) => deadLetters.list(req.query.get('all') === '1'));
  router.on('GET', '/api/dead-letters/:deployment/:id', async (req) => {
    try {
      return await deadLetters.inspect(req.params.deployment!, req.params.id!);
    } catch (error) {
      throw fromDeadLetter(error);
    }
  });
  // The operator logs in once with the token; the page then sends the cookie (HttpOnly, so no
  // script reads it; SameSite=Strict, so no other site's page can make the browser send it).
  if (!operators.signIn) router.on('POST', '/api/login', async (req, res) => {
    requireJson(req);
    const body = await req.json();
    if (!isAdminToken(auth, typeof body.token === 'string' ? body.token.trim() : undefined)) {
      throw new HttpError(401, 'that is not the console’s operator token', 'UNAUTHENTICATED');
    }
    res.setHeader('Set-Cookie', `${operatorCookie}=${encodeURIComponent(body.token.trim())}; HttpOnly; SameSite=Strict; Path=/api`);
    return { loggedIn: true };
  });
  router.on('POST', '/api/dead-letters/:deployment/:id/replay', async (req) => {
    const actor = operators.actor(req);
    requireJson(req);
    const body = await req.json();
    try {
      const message = await deadLetters.replay(req.params.deployment!, req.params.id!, operators.named(actor, body.operator));
      live.broadcast('dead-letters', { changed: `${req.params.deployment}/${req.params.id}` });
      return { message };
    } catch (error) {
      live.broadcast('dead-letters', { changed: `${req.params.deployment}/${req.params.id}` });
      throw fromDeadLetter(error);
    }
  });
  router.on('POST', '/api/dead-letters/:deployment/:id/discard', async (req) => {
    const actor = operators.actor(req);
    requireJson(req);
    const body = await req.json();
    try {
      const message = await deadLetters.discard(req.params.deployment!, req.params.id!, operators.named(actor, body.operator), String(body.reason ?? ''));
      live.broadcast('dead-letters', { changed: `${req.params.deployment}/${req.params.id}` });
      return { message };
    } catch (error) {
      throw fromDeadLetter(error);
    }
  });
  router.on('GET', '/api/actions', async () => ({ actions: await deadLetters.recentActions() }));
}
