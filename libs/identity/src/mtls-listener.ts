import type { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { keepIdleConnectionsOpen } from './http-keep-alive.js';

/** The network's CA and the issuer's own certificate and key (PEM), as libs/pki issues them. */
export interface IssuerTlsIdentity {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * The issuer's second listener (RFC 8705 §5, `mtls_endpoint_aliases`): HTTPS that takes only
 * connections with a client certificate of the network's CA — the handshake fails otherwise, so
 * no request is read — and serves the token endpoint alone. The browser-facing endpoints stay on
 * the plain listener, so a browser needs no client certificate to sign in.
 */
export async function startMtlsListener(host: string, port: number, identity: IssuerTlsIdentity): Promise<{ server: Server; port: number }> {
  const server = keepIdleConnectionsOpen(createServer({ ca: identity.ca, cert: identity.cert, key: identity.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Hands a request on to the provider only when it is for the token endpoint. */
export function tokenEndpointOnly(handle: (req: IncomingMessage, res: ServerResponse) => unknown, tokenPath: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (new URL(req.url ?? '/', 'https://issuer').pathname === tokenPath) return handle(req, res);
    res.statusCode = 404;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('only the token endpoint is served over mutual TLS; sign in through the issuer’s plain address');
  };
}

/**
 * oidc-provider's `features.mTLS.getCertificate`: the client certificate the request came with, on
 * the mutual-TLS listener only (TLS has verified it against the CA); undefined on the plain one.
 */
export function certificateOf(req: IncomingMessage): X509Certificate | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized) return undefined;
  return socket.getPeerX509Certificate?.();
}
