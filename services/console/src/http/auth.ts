import { timingSafeEqual } from 'node:crypto';
import { HttpError, type Request } from './http-server.js';

/**
 * Who may do what at the console's HTTP port. Until caseworker roles exist there are two kinds of
 * caller that need more than reading: operators (replay, discard — they change a deployment's
 * state) and the network's deployments sending telemetry (which ends up in every operator's view).
 */
export interface ConsoleAuth {
  /** The operator token: printed by `pnpm start`, in the console's log otherwise. */
  adminToken: string;
  /** Sender id → its OTLP token (`Authorization: Bearer <token>`). None: no telemetry accepted. */
  otlpTokens: Map<string, string>;
}

export const operatorCookie = 'lotse_operator';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

export function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

export function isAdminToken(auth: ConsoleAuth, token: string | undefined): boolean {
  return token !== undefined && same(token, auth.adminToken);
}

/** 401 unless the request carries the operator token (bearer, or the cookie of /api/login). */
export function requireOperator(auth: ConsoleAuth, req: Request): void {
  if (isAdminToken(auth, bearer(req)) || isAdminToken(auth, cookie(req, operatorCookie))) return;
  throw new HttpError(401, 'operator authentication required: log in with the console token that `pnpm start` printed', 'UNAUTHENTICATED');
}

/** The sender of a telemetry request, or 401: only the network's deployments may send. */
export function requireTelemetrySender(auth: ConsoleAuth, req: Request): string {
  const token = bearer(req);
  if (token) for (const [id, expected] of auth.otlpTokens) if (same(token, expected)) return id;
  throw new HttpError(401, 'telemetry is accepted only from the network’s deployments: send Authorization: Bearer <the deployment’s OTLP token>', 'UNAUTHENTICATED');
}

/** OTLP_TOKENS="id=token,…" (what the launcher hands out; see infra/README.md for a collector). */
export function parseTokens(raw: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    const id = part.slice(0, i).trim();
    const token = part.slice(i + 1).trim();
    if (i <= 0 || token.length < 16) throw new Error(`entries must look like id=token with a token of at least 16 characters, got "${part.slice(0, Math.max(i, 0))}=…"`);
    map.set(id, token);
  }
  return map;
}
