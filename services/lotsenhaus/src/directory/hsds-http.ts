import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@lotse/logger';
import { keepIdleConnectionsOpen } from '@lotse/runtime';
import type { Kysely } from 'kysely';
import { HSDS_PROFILE, HSDS_VERSION, organizationFullObject, page, serviceAtLocationObjects, serviceListObject, serviceObject, type HsdsContext } from './hsds.js';
import type { DirectoryDb } from './schema.js';
import { readOrganizations } from './store.js';

// The directory's HSDS API (the paths of HSDS 3.0's openapi.json under /hsds), read only. It is
// the hub's one plain-HTTP listener and serves nothing but the partner directory — published
// data meant for other directories and for the QR code on the newcomers' flyer — so it needs no
// client certificate; case data stays behind the gRPC server's mTLS. Off unless HSDS_HTTP_PORT.

export interface HsdsHttpOptions {
  host: string;
  port: number;
}

export interface HsdsHttpServer {
  port: number;
  stop(): Promise<void>;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function positive(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new HttpProblem(400, `${name}: must be a whole number from 1 to ${max}`);
  return Number(raw);
}

/** Answers one request from the directory tables; exported for tests without a listener. */
export async function hsdsResponse(db: Kysely<DirectoryDb>, ctx: HsdsContext, method: string, rawUrl: string): Promise<{ status: number; body: unknown }> {
  try {
    if (method !== 'GET' && method !== 'HEAD') throw new HttpProblem(405, `${method}: the HSDS API is read only`);
    const url = new URL(rawUrl, 'http://hub');
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/hsds' || path === '') return { status: 200, body: { version: HSDS_VERSION, profile: HSDS_PROFILE, openapi_url: 'https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json' } };
    const match = /^\/hsds\/(services|organizations|service_at_locations)(?:\/([^/]+))?$/.exec(path);
    if (!match) throw new HttpProblem(404, `no HSDS path ${path}`);
    const [, kind, id] = match;
    const pageNumber = positive(url, 'page', 1, 100000);
    const perPage = positive(url, 'per_page', 50, 500);
    const organizationId = url.searchParams.get('organization_id') ?? '';
    // Beside HSDS's parameters: the municipality (code) a service serves, for the flyer's QR code.
    const municipality = url.searchParams.get('municipality') ?? '';
    if (municipality && !ctx.municipalities.some((m) => m.code === municipality)) throw new HttpProblem(400, `municipality: no municipality "${municipality.slice(0, 64)}" in the region`);
    const orgs = (await readOrganizations(db, { municipality: municipality || undefined })).filter((o) => !organizationId || o.id === organizationId);
    if (kind === 'services') {
      if (id) {
        for (const org of orgs) for (const offer of org.offers) if (offer.id === id) return { status: 200, body: serviceObject(org, offer, ctx) };
        throw new HttpProblem(404, `id: no service "${id.slice(0, 64)}"`);
      }
      return { status: 200, body: page(orgs.flatMap((org) => org.offers.map((o) => serviceListObject(o, org))), pageNumber, perPage) };
    }
    if (kind === 'organizations') {
      if (id) {
        const org = orgs.find((o) => o.id === id);
        if (!org) throw new HttpProblem(404, `id: no organization "${id.slice(0, 64)}"`);
        return { status: 200, body: organizationFullObject(org, ctx) };
      }
      return { status: 200, body: page(orgs.map((o) => ({ id: o.id, name: o.name, description: o.description || o.name, ...(o.email && { email: o.email }), ...(o.website && { website: o.website }) })), pageNumber, perPage) };
    }
    const all = orgs.flatMap((org) => serviceAtLocationObjects(org, ctx));
    if (id) {
      const one = all.find((s) => s.id === id);
      if (!one) throw new HttpProblem(404, `id: no service_at_location "${id.slice(0, 64)}"`);
      return { status: 200, body: one };
    }
    return { status: 200, body: page(all.map(({ service: _s, location: _l, schedules: _h, contacts: _c, phones: _p, ...flat }) => flat), pageNumber, perPage) };
  } catch (error) {
    if (error instanceof HttpProblem) return { status: error.status, body: { error: error.message } };
    throw error;
  }
}

export async function startHsdsHttp(db: Kysely<DirectoryDb>, ctx: HsdsContext, options: HsdsHttpOptions, logger: Logger): Promise<HsdsHttpServer> {
  const server: Server = keepIdleConnectionsOpen(createServer((req: IncomingMessage, res: ServerResponse) => {
    hsdsResponse(db, ctx, req.method ?? 'GET', req.url ?? '/')
      .then(({ status, body }) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=60', 'access-control-allow-origin': '*' });
        res.end(req.method === 'HEAD' ? undefined : text);
      })
      .catch((err) => {
        logger.error({ err }, 'HSDS request failed');
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":"internal error"}');
      });
  }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'HSDS API listening');
  return {
    port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
