// End to end: the whole network (`pnpm start`) on a PostgreSQL of this test's own — never the
// shared one — with referrals flowing while that server is stopped with `-m immediate` for 8 s
// and started again. No process may restart (the launcher would hide a crash by restarting it;
// network.json counts restarts and names the pids), health goes NOT_SERVING and back to SERVING,
// and every referral reaches the hub's timeline exactly once.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { common, foreignOffice as fo, lotsenhaus as hub } from '@lotse/contracts';
import { loadIdentity } from '@lotse/pki';
import { isServing, startTestPostgres, type TestPostgres } from '@lotse/testing';
import { newNetworkHome, removeHome, retrying, sleep, startNetworkOnFreePorts, waitFor, type RunningNetwork } from '../src/network-process.js';

let postgres: TestPostgres;
let network: RunningNetwork | undefined;
let home: string;

beforeAll(async () => {
  postgres = await startTestPostgres();
  home = newNetworkHome();
  ({ network } = await startNetworkOnFreePorts(home, {
    DATABASE_URL: postgres.url.replace(/\/postgres$/, '/lotse'),
    NATS_URL: '',
    LOTSE_DEMO_DATA: '0',
  }));
}, 300_000);

afterAll(async () => {
  // The server must be up for a clean stop; the processes stop either way.
  try {
    postgres?.start();
  } catch {
    // already running
  }
  await network?.interrupt().catch(() => undefined);
  postgres?.cleanup();
  if (home) removeHome(home);
}, 90_000);

describe('the network when its PostgreSQL stops and comes back', () => {
  it('keeps every process, reports NOT_SERVING then SERVING, and loses or doubles no referral', async () => {
    const net = network!;
    // Every process the launcher supervises, the console included: pid and restart count.
    const processes = () => {
      const file = net.network() as ReturnType<RunningNetwork['network']> & { console: { id: string; pid: number | null; restarts: number } };
      return [...file.deployments, file.console].map((d) => ({ id: d.id, pid: d.pid, restarts: d.restarts }));
    };
    const before = processes();
    const fo1 = net.client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
    const hubClient = net.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
    const operator = loadIdentity(join(home, 'pki'), 'console');

    const newcomers: fo.Newcomer[] = [];
    for (let i = 0; i < 30; i++) {
      const { newcomer } = await fo1.registerNewcomer({
        requestId: `outage-reg-${i}`,
        givenNames: 'Amina',
        familyName: `Haddad ${i}`,
        birthDate: '1988-05-17',
        nationality: 'SY',
        languages: ['ar'],
        municipality: 'andernach',
        residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
      });
      await fo1.recordConsent({
        requestId: `outage-consent-${i}`,
        newcomerId: newcomer!.newcomerId,
        recipients: ['migration-services'],
        purposes: [common.Purpose.PURPOSE_MIGRATION_COUNSELLING],
        dataCategories: [common.DataCategory.DATA_CATEGORY_IDENTITY],
        textVersion: 'mbe-einwilligung-2026-01',
        language: 'ar',
        interpreterUsed: false,
        expiresAt: undefined,
      });
      newcomers.push(newcomer!);
    }

    // Health of every deployment, every 250 ms, as the console would see it.
    const seen = new Map<string, string[]>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await Promise.all(
          net.network().deployments.map(async (d) => {
            const status = await isServing(d.grpc, operator).then((ok) => (ok ? 'SERVING' : 'NOT_SERVING'), () => 'UNREACHABLE');
            const list = seen.get(d.id) ?? [];
            if (list[list.length - 1] !== status) list.push(status);
            seen.set(d.id, list);
          }),
        );
        await sleep(250);
      }
    })();

    // A referral every 300 ms; a refused one is retried with the same request id, as a client would.
    const referrals = Promise.all(
      newcomers.map(async (n, i) => {
        await sleep(i * 300);
        await retrying(
          () => fo1.requestReferral({ requestId: `outage-ref-${i}`, newcomerId: n.newcomerId, purpose: common.Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' }),
          120_000,
        );
      }),
    );
    await sleep(2_000);
    postgres.stopImmediate();
    await sleep(8_000);
    postgres.start();
    await referrals;

    for (const n of newcomers) {
      await waitFor(async () => (await hubClient.getCaseTimeline({ caseRef: n.caseRef })).entries.some((e) => e.eventType === 'ReferralReceived'), 90_000, `case ${n.caseRef} at a provider`);
    }
    await waitFor(() => [...seen.values()].every((l) => l[l.length - 1] === 'SERVING'), 30_000, 'every deployment SERVING again');
    polling = false;
    await poller;

    const timelines = await Promise.all(newcomers.map(async (n) => (await hubClient.getCaseTimeline({ caseRef: n.caseRef })).entries));
    const after = processes();
    process.stdout.write(`database outage, network: health ${[...seen].map(([id, l]) => `${id} ${l.join('→')}`).join('; ')}\n`);
    expect(after).toEqual(before); // same pids, no restarts
    for (const entries of timelines) {
      expect(entries.filter((e) => e.eventType === 'ReferralRequested')).toHaveLength(1);
      expect(entries.filter((e) => e.eventType === 'ReferralReceived')).toHaveLength(1);
    }
    for (const [id, list] of seen) {
      const down = list.indexOf('NOT_SERVING');
      expect(down, `${id}: ${list.join(' → ')}`).toBeGreaterThan(0);
      expect(list.slice(down), `${id}: ${list.join(' → ')}`).toContain('SERVING');
    }
    fo1.close();
    hubClient.close();
  }, 300_000);
});
