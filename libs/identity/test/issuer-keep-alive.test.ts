// The embedded issuer's two listeners keep an idle keep-alive connection open as long as the
// network's other HTTP listeners do (HTTP_KEEP_ALIVE_MS). With Node's 5 s default, a client that
// reuses a pooled connection after a pause of about that long — the console exchanging a code,
// the CLI's next token request — writes into a socket the issuer is just closing and reads a reset.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevPki, loadIdentity } from '../../pki/src/index.js';
import { probeKeepAlive } from '../../testing/src/keep-alive-probe.js';
import { startEmbeddedIssuer, type EmbeddedIssuer } from '../src/embedded-issuer.js';
import { HTTP_KEEP_ALIVE_MS } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'lotse-issuer-keep-alive-'));
const pki = join(root, 'pki');
let issuer: EmbeddedIssuer;

beforeAll(async () => {
  await ensureDevPki(pki, [
    { id: 'abh-test', agencyType: 'foreign-office' },
    { id: 'issuer', agencyType: 'issuer' },
  ]);
  issuer = await startEmbeddedIssuer({
    staff: [{ username: 'anna', password: 'demo-anna', sub: 'staff-7f3a', displayName: 'Anna', agencyId: 'abh-test', roles: ['caseworker'] }],
    audience: 'urn:lotse:keep-alive-test',
    clients: [{ clientId: 'lotse-cli', redirectUris: ['http://127.0.0.1/lotse-cli/callback'], certificateBound: true }],
    mtls: { identity: loadIdentity(pki, 'issuer') },
  });
});

afterAll(async () => {
  await issuer?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('the embedded issuer keeps idle connections open', () => {
  it('on the browser-facing listener and on the mutual-TLS token alias, past Node’s 5 s default', async () => {
    const plain = new URL(issuer.issuer);
    const alias = new URL(issuer.mtlsTokenEndpoint!);
    const client = loadIdentity(pki, 'abh-test');
    const [browserFacing, tokenAlias] = await Promise.all([
      probeKeepAlive(
        connectTcp(Number(plain.port), plain.hostname),
        `GET /.well-known/openid-configuration HTTP/1.1\r\nHost: ${plain.host}\r\nConnection: keep-alive\r\n\r\n`,
        6_000,
      ),
      probeKeepAlive(
        connectTls({ host: alias.hostname, port: Number(alias.port), ca: client.ca, cert: client.cert, key: client.key}),
        `GET ${alias.pathname} HTTP/1.1\r\nHost: ${alias.host}\r\nConnection: keep-alive\r\n\r\n`,
        6_000,
      ),
    ]);
    for (const [listener, seen] of Object.entries({ browserFacing, tokenAlias })) {
      expect(seen.announced, `${listener}: Keep-Alive timeout announced`).toBe(HTTP_KEEP_ALIVE_MS / 1000);
      expect(seen.closedWhileIdle, `${listener}: closed the idle connection`).toBe(false);
      expect(seen.answers, `${listener}: answers on one connection`).toBe(2);
    }
  }, 30_000);
});
