import { request } from 'node:https';

/** A client certificate with the CA that verifies the server: what a deployment presents. */
export interface ClientCertificate {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * A form POST over mutual TLS, answered like fetch's `Response` as far as sign-in needs it. Node's
 * fetch takes no client certificate without undici's Agent, which is not a dependency here.
 */
export function postFormOverMtls(url: string, form: URLSearchParams, tls: ClientCertificate, timeoutMs = 10_000): Promise<{ ok: boolean; status: number; json(): Promise<unknown> }> {
  const body = form.toString();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca: tls.ca, cert: tls.cert, key: tls.key, timeout: timeoutMs, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ ok: status >= 200 && status < 300, status, json: async () => JSON.parse(text) as unknown });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
