import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { createGunzip, createInflate } from 'node:zlib';
import { keepIdleConnectionsOpen } from '@lotse/runtime';
import type { Readable } from 'node:stream';
import type { ConsoleSession } from '../sign-in/sessions.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'ERROR',
  ) {
    super(message);
  }
}

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
  /** The body as text (decompressed), at most maxBodyBytes. */
  text(): Promise<string>;
  json(): Promise<any>;
  /** The signed-in person's session, when the console signs people in and the gate found one. */
  session?: ConsoleSession;
}

type Handler = (req: Request, res: ServerResponse) => Promise<unknown> | unknown;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** A small router on node:http: path parameters, JSON in and out, gzip bodies, static files. */
export class Router {
  private readonly routes: Route[] = [];

  constructor(
    private readonly options: {
      staticDir: string;
      maxBodyBytes: number;
      onError(error: unknown, path: string): void;
      /** Runs first for every request; false when it has answered itself (a redirect to sign in). */
      gate?(req: Request, res: ServerResponse): Promise<boolean> | boolean;
    },
  ) {}

  on(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const pattern = new RegExp(
      '^' +
        path.replace(/:([a-zA-Z]+)/g, (_, key: string) => {
          keys.push(key);
          return '([^/]+)';
        }) +
        '$',
    );
    this.routes.push({ method, pattern, keys, handler });
    return this;
  }

  listen(host: string, port: number): Promise<{ server: Server; port: number }> {
    const server = keepIdleConnectionsOpen(createServer((req, res) => void this.handle(req, res)));
    // Server-sent event streams stay open; the default timeouts would cut them.
    server.requestTimeout = 0;
    server.headersTimeout = 30_000;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const address = server.address();
        resolve({ server, port: typeof address === 'object' && address ? address.port : port });
      });
    });
  }

  private async handle(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(raw.url ?? '/', 'http://console');
    const method = raw.method ?? 'GET';
    res.setHeader('X-Content-Type-Options', 'nosniff');
    let body: Promise<string> | undefined;
    const request: Request = {
      method,
      path: url.pathname,
      query: url.searchParams,
      params: {},
      headers: raw.headers,
      raw,
      text: () => (body ??= readBody(raw, this.options.maxBodyBytes)),
      json: async () => {
        const text = await request.text();
        try {
          return text ? JSON.parse(text) : {};
        } catch {
          throw new HttpError(400, 'the body is not valid JSON', 'INVALID_JSON');
        }
      },
    };
    try {
      // Before any route or file: with sign-in, who may see anything at all.
      if (this.options.gate && !(await this.options.gate(request, res))) return;
      for (const route of this.routes) {
        if (route.method !== method) continue;
        const match = route.pattern.exec(url.pathname);
        if (!match) continue;
        request.params = Object.fromEntries(route.keys.map((k, i) => [k, decodeURIComponent(match[i + 1]!)]));
        const result = await route.handler(request, res);
        if (!res.headersSent && !res.writableEnded) sendJson(res, 200, result ?? {});
        return;
      }
      if (method === 'GET' || method === 'HEAD') return await this.serveStatic(url.pathname, res);
      throw new HttpError(404, `no route for ${method} ${url.pathname}`, 'NOT_FOUND');
    } catch (error) {
      if (error instanceof HttpError) {
        if (!res.headersSent) sendJson(res, error.status, { error: error.code, message: error.message });
        else res.end();
        return;
      }
      this.options.onError(error, url.pathname);
      if (!res.headersSent) sendJson(res, 500, { error: 'INTERNAL', message: 'internal error; see the console log' });
      else res.end();
    }
  }

  private async serveStatic(pathname: string, res: ServerResponse): Promise<void> {
    const relative = pathname === '/' ? 'index.html' : pathname.slice(1);
    const file = normalize(join(this.options.staticDir, relative));
    if (!file.startsWith(this.options.staticDir + sep)) throw new HttpError(404, 'not found', 'NOT_FOUND');
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new HttpError(404, 'not found', 'NOT_FOUND');
    res.writeHead(200, {
      'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
      'Content-Length': info.size,
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    });
    createReadStream(file).pipe(res);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  let stream: Readable = req;
  if (encoding === 'gzip') stream = req.pipe(createGunzip());
  else if (encoding === 'deflate') stream = req.pipe(createInflate());
  else if (encoding !== 'identity') throw new HttpError(415, `content-encoding ${encoding} is not supported (use gzip or none)`, 'UNSUPPORTED_ENCODING');
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`, 'TOO_LARGE');
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, `the body could not be read: ${(error as Error).message}`, 'BAD_BODY');
  }
  return Buffer.concat(chunks).toString('utf8');
}
