// The console's views of the deployments: a case from the stand-in hub with the trace of each
// step, health and outbox polled, dead letters listed, decoded and replayed under the operator's
// token; against the real PostgreSQL, the stand-in served with the real gRPC server and mTLS.
import { waitFor } from '@lotse/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, kv, ns, startConsoleFixture, traceId, traces, type ConsoleUnderTest } from './support/console-fixture.js';

let operatorConsole: ConsoleUnderTest;
beforeAll(async () => {
  operatorConsole = await startConsoleFixture();
  // The case view shows each step's trace: the telemetry file checks how it is stored.
  expect((await operatorConsole.post('/v1/traces', traces)).status).toBe(200);
}, 60_000);
afterAll(() => operatorConsole?.stop());

describe('cases, health and dead letters through the deployments', () => {
  it('shows a case from the hub with the trace of each step', async () => {
    const { body } = await operatorConsole.get('/api/cases/C-TEST1');
    expect(body.summary).toMatchObject({ caseRef: 'C-TEST1', waitsOn: 'caritas-koblenz', status: 'REFERRAL_STATUS_PENDING', ageGroup: 'adult' });
    expect(body.timeline).toEqual([expect.objectContaining({ eventType: 'ReferralRequested', traceId, trace: expect.objectContaining({ spans: 3, services: ['hub', 'kv-mayen-koblenz'] }) })]);
    expect((await operatorConsole.get('/api/cases/C-NOPE')).status).toBe(404);
  });

  it('polls health and outbox of every deployment', async () => {
    await waitFor(async () => (await operatorConsole.get('/api/overview')).body.deployments[0].health === 'SERVING', 'the stand-in to be seen serving');
    const { body } = await operatorConsole.get('/api/overview');
    expect(body.deployments[0]).toMatchObject({
      id: 'hub',
      hub: true,
      operatorApi: 'ok',
      outbox: {
        backlog: 3,
        parked: 1,
        streamResets: 1,
        lastStreamResetAt: '2026-11-20T10:00:00.000Z',
        republishedAtLastReset: 7,
        durablesRecreated: 2,
        awaiting: [{ eventType: 'ReferralRequested', waitsOn: 'lotsenhaus', waiting: 4, stuck: 1, oldestAt: '2026-11-20T09:00:00.000Z' }],
      },
    });
    expect((await operatorConsole.get('/api/health/series?minutes=5')).body.deployments.length).toBeGreaterThan(0);
  });

  it('refuses replay and discard without the operator token, and telemetry from outside the network', async () => {
    const anonymous = { authorization: '' };
    expect((await operatorConsole.post('/api/dead-letters/hub/1/replay', { operator: 'Intruder' }, anonymous)).status).toBe(401);
    expect((await operatorConsole.post('/api/dead-letters/hub/1/discard', { operator: 'Intruder', reason: 'x' }, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await operatorConsole.post('/api/login', { token: 'wrong-token-0123456789' }, anonymous)).status).toBe(401);
    expect(operatorConsole.replayCalls).toEqual([]);
    // Telemetry: no token, a wrong one, or the operator's (which is no deployment's) are refused.
    const span = { resourceSpans: [{ resource: { attributes: [kv('service.name', 'intruder')] }, scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'forged', kind: 2, startTimeUnixNano: ns(0), endTimeUnixNano: ns(1) }] }] }] };
    for (const authorization of ['', 'Bearer wrong-token-0123456789', `Bearer ${adminToken}`]) {
      expect((await operatorConsole.post('/v1/traces', span, { authorization })).status).toBe(401);
    }
    expect((await operatorConsole.get(`/api/traces/${'ab'.repeat(16)}`)).status).toBe(404);
    // Logging in sets an HttpOnly, SameSite=Strict cookie that then authorises the page's calls.
    const login = await fetch(`${operatorConsole.base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: adminToken }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    // Past the operator check, on to the request's own (no name given): 400, not 401.
    const withCookie = await operatorConsole.post('/api/dead-letters/hub/1/replay', { operator: '' }, { authorization: '', cookie: cookie.split(';')[0]! });
    expect(withCookie.status).toBe(400);
    expect(operatorConsole.replayCalls).toEqual([]);
  });

  it('lists, decodes and replays a parked message, and records who asked', async () => {
    const list = (await operatorConsole.get('/api/dead-letters')).body;
    expect(list.unavailable).toEqual([]);
    expect(list.messages).toEqual([expect.objectContaining({ deployment: 'hub', parkedId: '1', eventType: 'ReferralAccepted', state: 'open' })]);
    const inspected = (await operatorConsole.get('/api/dead-letters/hub/1')).body;
    expect(inspected.decoded.envelope).toMatchObject({ eventType: 'ReferralAccepted', producerAgencyId: 'caritas-koblenz' });
    expect(inspected.decoded.payload).toMatchObject({ referralId: 'r-1', providerId: 'caritas-koblenz' });

    expect((await operatorConsole.post('/api/dead-letters/hub/1/replay', { operator: '' })).status).toBe(400);
    expect((await operatorConsole.post('/api/dead-letters/hub/1/discard', { operator: 'Jana' })).status).toBe(400);
    const form = await fetch(`${operatorConsole.base}/api/dead-letters/hub/1/replay`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${adminToken}` }, body: 'operator=x' });
    expect(form.status).toBe(415);
    const replay = await operatorConsole.post('/api/dead-letters/hub/1/replay', { operator: 'Jana Operator' });
    expect(replay.status).toBe(200);
    expect(replay.body.message.state).toBe('replayed');
    expect(operatorConsole.replayCalls).toEqual([{ operatorName: 'Jana Operator', caller: 'console' }]);
    const missing = await operatorConsole.post('/api/dead-letters/hub/99/replay', { operator: 'Jana Operator' });
    expect(missing.status).toBe(404);
    const { actions } = (await operatorConsole.get('/api/actions')).body;
    expect(actions.map((a: any) => [a.action, a.operator_name, a.outcome])).toEqual([
      ['replay', 'Jana Operator', 'NOT_FOUND'],
      ['replay', 'Jana Operator', 'ok'],
    ]);
    expect((await operatorConsole.get('/api/dead-letters')).body.messages).toEqual([]);
  });

  it('asks the hub for erasures, and serves the web page', async () => {
    expect((await operatorConsole.get('/api/erasures')).body).toEqual({ source: 'hub', erasures: [] });
    const page = await fetch(`${operatorConsole.base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Operator console');
    expect((await fetch(`${operatorConsole.base}/../package.json`)).status).toBe(404);
  });
});

