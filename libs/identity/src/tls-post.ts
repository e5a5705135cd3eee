import { request } from 'node:https';

/** A client certificate with the CA that verifies the server: what a deployment presents. */
export interface ClientCertificate {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * `fetch` over mutual TLS with the deployment's certificate, for a sign-in's token request to the
 * issuer's mutual-TLS alias (RFC 8705): Node's fetch takes no client certificate without undici's
 * Agent, which is not a dependency here. The body is text or a form; the answer is a real
 * `Response`, so openid-client (the console's) takes it as its customFetch too.
 */
export function mtlsFetch(tls: ClientCertificate, timeoutMs = 10_000) {
  return (url: string | URL, init: { method?: string; headers?: ConstructorParameters<typeof Headers>[0]; body?: unknown } = {}): Promise<Response> => {
    const body = init.body === undefined || init.body === null ? '' : String(init.body);
    const headers = Object.fromEntries(new Headers(init.headers));
    return new Promise((resolve, reject) => {
      const req = request(url, { method: init.method ?? 'GET', ca: tls.ca, cert: tls.cert, key: tls.key, timeout: timeoutMs, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const answer = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) answer.set(name, Array.isArray(value) ? value.join(', ') : value);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: answer }));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${String(url)} within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  };
}
