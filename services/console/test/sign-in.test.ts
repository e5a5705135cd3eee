// The console signing people in, against the real embedded OpenID issuer and a stand-in
// deployment that checks tokens with the deployments' own hook (personAuthentication and the
// real policy/access.yaml), on the real PostgreSQL: nothing but health and OTLP without a
// session; operators act, auditors only look; the deployment gets the operator's own token.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { operator } from '@lotse/contracts';
import type { TestDatabase } from '@lotse/db';
import { accessMatrix } from '@lotse/flows';
import { createClient, type GrpcServer } from '@lotse/grpc';
import type { StaffAccount } from '@lotse/identity';
import { startEmbeddedIssuer, type EmbeddedIssuer } from '@lotse/identity/issuer';
import { createLogger } from '@lotse/logger';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { personAuthentication } from '@lotse/runtime';
import { createTestDatabase, dropWhenIdle, grpcError } from '@lotse/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toConfig, type RunningConsole } from '../src/index.js';
import { BrowserSession } from './support/browser-session.js';
import { parked, standInDeployment, type StandInCall } from './support/stand-in-deployment.js';

const logger = createLogger('console-sign-in-test', { level: 'silent' });
const audience = 'urn:lotse:network';
const password = 'test-password';
const staff = (username: string, agencyId: string, roles: StaffAccount['roles']): StaffAccount => ({ username, password, sub: `staff-${username.replace(/\W/g, '')}`, displayName: `Demo ${username}`, agencyId, roles });
const accounts = [staff('operator', 'console', ['operator']), staff('auditor', 'console', ['auditor']), staff('operator.hub', 'hub', ['operator'])];

let dir: string;
let pki: string;
let database: TestDatabase;
let issuer: EmbeddedIssuer;
let fake: GrpcServer;
let fakeAddress: string;
let service: ReturnType<typeof create>;
let running: RunningConsole;
let base: string;
/** The console's clock runs this far ahead: sessions end without waiting for real tokens to expire. */
let clockAheadMs = 0;
const calls: StandInCall[] = [];
const messages = new Map<string, operator.ParkedMessage>();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-console-sign-in-'));
  pki = join(dir, 'pki');
  await ensureDevPki(pki, [
    { id: 'console', agencyType: 'operator' },
    { id: 'hub', agencyType: 'lotsenhaus' },
  ]);
  // The console's port is needed before it starts: the issuer registers its redirect URI.
  const consolePort = await freePort();
  base = `http://127.0.0.1:${consolePort}`;
  issuer = await startEmbeddedIssuer({
    staff: accounts,
    audience,
    clients: [{ clientId: 'lotse-console', redirectUris: [`${base}/auth/callback`], postLogoutRedirectUris: [`${base}/auth/signed-out`] }],
  });

  for (const id of ['1', '2', '3']) messages.set(id, parked(id));
  fake = standInDeployment({ identity: loadIdentity(pki, 'hub'), logger, messages, calls, authenticate: personAuthentication({ issuer: issuer.issuer, audience }, { agencyId: 'hub', agencyType: 'lotsenhaus' }, accessMatrix()) });
  fakeAddress = `127.0.0.1:${await fake.listen('127.0.0.1', 0)}`;

  database = await createTestDatabase('lotse_console_sign_in');
  const config = toConfig({
    DATABASE_URL: database.url,
    PKI_DIR: pki,
    HTTP_PORT: String(consolePort),
    DEPLOYMENTS: `hub=${fakeAddress}`,
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN: adminToken,
    OTLP_TOKENS: `hub=${otlpToken}`,
    OIDC_ISSUER: issuer.issuer,
    OIDC_AUDIENCE: audience,
    OIDC_CLIENT_ID: 'lotse-console',
  });
  service = create(config, { logger, now: () => Date.now() + clockAheadMs });
  running = await service.start();
  expect(running.url).toBe(base);
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await fake?.stop(100);
  await issuer?.stop();
  if (database) await dropWhenIdle(database);
  rmSync(dir, { recursive: true, force: true });
});

const adminToken = 'test-operator-token-0123456789';
const otlpToken = 'test-otlp-token-hub-0123456789';

async function signedIn(username: string): Promise<BrowserSession> {
  const browser = new BrowserSession();
  const { landed } = await browser.signIn(base, username, password);
  expect(landed!.status).toBe(302);
  expect(landed!.headers.get('location')).toBe('/');
  return browser;
}

describe('the console with sign-in', () => {
  it('answers nothing but health, OTLP and sign-in without a session', async () => {
    const anonymous = new BrowserSession();
    for (const path of ['/api/dead-letters', '/api/overview', '/api/me', '/api/actions', '/api/events', '/app.js']) {
      const res = await anonymous.get(base + path);
      expect(res.status, path).toBe(401);
      expect(((await res.json()) as { error: string }).error).toBe('UNAUTHENTICATED');
    }
    // A page sends the browser to sign in, and from there to the issuer.
    for (const path of ['/', '/index.html']) {
      const page = await anonymous.request(base + path);
      expect(page.status).toBe(302);
      expect(page.headers.get('location')).toBe(`/auth/login?return=${encodeURIComponent(path)}`);
    }
    const login = await anonymous.request(`${base}/auth/login?return=/`);
    expect(login.status).toBe(302);
    const authorize = new URL(login.headers.get('location')!);
    expect(authorize.origin).toBe(issuer.issuer);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({ client_id: 'lotse-console', response_type: 'code', code_challenge_method: 'S256', redirect_uri: `${base}/auth/callback` });
    for (const p of ['state', 'nonce', 'code_challenge']) expect(authorize.searchParams.get(p)?.length, p).toBeGreaterThanOrEqual(22);
    // Replay with the operator token, which the console takes only without an issuer: refused.
    const withToken = await fetch(`${base}/api/dead-letters/hub/1/replay`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: '{"operator":"x"}' });
    expect(withToken.status).toBe(401);
    expect((await anonymous.post(`${base}/api/login`, { token: adminToken })).status).toBe(401);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const otlp = await fetch(`${base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${otlpToken}` }, body: '{"resourceSpans":[]}' });
    expect(otlp.status).toBe(200);
    expect(calls).toEqual([]);
  });

  it('signs an operator in through the issuer’s login page; the cookie holds only a session id', async () => {
    const browser = await signedIn('operator');
    const session = browser.setCookies.find((c) => c.startsWith('lotse_session=') && !/Max-Age=0/.test(c))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(session).toMatch(/Path=\//);
    const maxAge = Number(/Max-Age=(\d+)/.exec(session)![1]);
    expect(maxAge).toBeGreaterThan(200);
    expect(maxAge).toBeLessThanOrEqual(300); // the issuer's access tokens live 300 s
    const id = browser.cookies.get('lotse_session')!;
    expect(id).toMatch(/^[\w-]{43}$/); // 32 random bytes, no token
    expect(browser.cookies.has('lotse_signin')).toBe(false);

    const me = (await (await browser.get(`${base}/api/me`)).json()) as any;
    expect(me).toMatchObject({ signIn: true, mayAct: true, person: { sub: 'staff-operator', username: 'operator', displayName: 'Demo operator', roles: ['operator'], agencyId: 'console' } });
    expect((await browser.request(`${base}/`)).status).toBe(200);
    expect((await browser.get(`${base}/api/dead-letters`)).status).toBe(200);
  });

  it('lets an operator replay and discard with their own token; the deployment and the console record the staff id', async () => {
    const browser = await signedIn('operator');
    const replay = await browser.post(`${base}/api/dead-letters/hub/1/replay`, { operator: 'Someone Else' });
    expect(replay.status).toBe(200);
    const discard = await browser.post(`${base}/api/dead-letters/hub/2/discard`, { reason: 'test' });
    expect(discard.status).toBe(200);
    // The deployment verified the forwarded token itself: it knows the person, not a typed name.
    expect(calls).toEqual([
      { method: 'replay', operatorName: 'staff-operator', person: { sub: 'staff-operator', roles: ['operator'] } },
      { method: 'discard', operatorName: 'staff-operator', person: { sub: 'staff-operator', roles: ['operator'] } },
    ]);
    const { actions } = (await (await browser.get(`${base}/api/actions`)).json()) as { actions: any[] };
    expect(actions.map((a) => [a.action, a.parked_id, a.operator_name, a.operator_sub, a.operator_roles, a.outcome])).toEqual([
      ['discard', '2', 'staff-operator', 'staff-operator', ['operator'], 'ok'],
      ['replay', '1', 'staff-operator', 'staff-operator', ['operator'], 'ok'],
    ]);
    // Without a person the deployment refuses the replay: the console's certificate alone is not enough.
    const asSoftware = createClient(operator.OperatorServiceClient, fakeAddress, loadIdentity(pki, 'console'), { serverAgencyId: 'hub' });
    try {
      const refused = await grpcError(asSoftware.replayParkedMessage({ requestId: 'r-software', parkedId: '3', operatorName: 'console' }));
      expect(refused.code).toBe(status.UNAUTHENTICATED);
      // … while its polling still is.
      expect((await asSoftware.listParkedMessages({ includeResolved: false })).messages.map((m) => m.parkedId)).toEqual(['3']);
    } finally {
      asSoftware.close();
    }
    calls.length = 0;
  });

  it('lets an auditor look but not act: 403, and nothing reaches the deployment', async () => {
    const browser = await signedIn('auditor');
    const me = (await (await browser.get(`${base}/api/me`)).json()) as any;
    expect(me).toMatchObject({ mayAct: false, person: { sub: 'staff-auditor', roles: ['auditor'] } });
    expect((await browser.get(`${base}/api/dead-letters`)).status).toBe(200);
    const before = ((await (await browser.get(`${base}/api/actions`)).json()) as { actions: unknown[] }).actions.length;
    for (const [path, body] of [
      ['/api/dead-letters/hub/3/replay', {}],
      ['/api/dead-letters/hub/3/discard', { reason: 'x' }],
    ] as const) {
      const res = await browser.post(base + path, body);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { message: string }).message).toMatch(/need the operator role; you are signed in with auditor/);
    }
    expect(calls).toEqual([]);
    expect(messages.get('3')!.replayedAt).toBeUndefined();
    expect(((await (await browser.get(`${base}/api/actions`)).json()) as { actions: unknown[] }).actions.length).toBe(before);
  });

  it('refuses a forged session id, an expired session and one signed out', async () => {
    const forged = new BrowserSession();
    forged.cookies.set('lotse_session', 'A'.repeat(43));
    expect((await forged.get(`${base}/api/dead-letters`)).status).toBe(401);
    expect((await forged.post(`${base}/api/dead-letters/hub/3/replay`, {})).status).toBe(401);

    const expiring = await signedIn('operator');
    expect((await expiring.get(`${base}/api/me`)).status).toBe(200);
    clockAheadMs = 301_000; // past the access token's expiry
    try {
      expect((await expiring.get(`${base}/api/me`)).status).toBe(401);
      expect((await expiring.post(`${base}/api/dead-letters/hub/3/replay`, {})).status).toBe(401);
    } finally {
      clockAheadMs = 0;
    }
    // Gone for good, not only while the clock was ahead.
    expect((await expiring.get(`${base}/api/me`)).status).toBe(401);

    const leaving = await signedIn('operator');
    const id = leaving.cookies.get('lotse_session')!;
    const out = await leaving.post(`${base}/auth/logout`, {});
    expect(out.status).toBe(200);
    const { location } = (await out.json()) as { location: string };
    expect(location.startsWith(`${issuer.issuer}/`)).toBe(true); // on to end the issuer's session too
    expect(leaving.cookies.has('lotse_session')).toBe(false);
    // The issuer asks, and once the person says yes it sends them back to the console.
    const question = await leaving.follow(location);
    const form = await question.response!.text();
    expect(form).toContain('Abmelden / Sign out');
    const confirm = /<form id="op.logoutForm" method="post" action="([^"]+)"><input type="hidden" name="xsrf" value="([^"]+)"/.exec(form)!;
    const back = await leaving.follow(confirm[1]!, `${base}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf: confirm[2]!, logout: 'yes' }).toString() });
    expect(back.url).toBe(`${base}/auth/signed-out`);
    // Signing in again asks for the password again: the issuer's session ended too.
    const again = await leaving.follow(`${base}/auth/login`);
    expect(await again.response!.text()).toContain('name="password"');
    const replayed = new BrowserSession();
    replayed.cookies.set('lotse_session', id);
    expect((await replayed.get(`${base}/api/me`)).status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('refuses a callback not started in this browser, a changed state, and staff of another agency', async () => {
    // Someone's callback URL (code and state) opened in another browser: no flow there.
    const victim = new BrowserSession();
    const { callback } = await new BrowserSession().signIn(base, 'operator', password, { visitCallback: false });
    const elsewhere = await victim.request(callback);
    expect(elsewhere.status).toBe(400);
    expect(await elsewhere.text()).toContain('not started in this browser');
    expect(victim.cookies.has('lotse_session')).toBe(false);

    // The right browser, but the state changed on the way.
    const browser = new BrowserSession();
    const started = await browser.signIn(base, 'operator', password, { visitCallback: false });
    const tampered = new URL(started.callback);
    tampered.searchParams.set('state', 'x'.repeat(43));
    const answer = await browser.request(tampered.href);
    expect(answer.status).toBe(400);
    expect(browser.cookies.has('lotse_session')).toBe(false);

    // The hub's operator is a real person with the operator role, but not the console's.
    const foreign = new BrowserSession();
    const { landed } = await foreign.signIn(base, 'operator.hub', password);
    expect(landed!.status).toBe(403);
    expect(await landed!.text()).toContain('serves the staff of console only');
    expect(foreign.cookies.has('lotse_session')).toBe(false);
  });
});
