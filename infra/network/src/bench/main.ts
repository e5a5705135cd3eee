// `pnpm bench`: starts the demo network as `pnpm start` does (embedded default: PGlite per
// deployment, a spawned nats-server), then measures, in one run:
//   baseline 1 — one mTLS gRPC round trip (the cost of a hop);
//   baseline 2 — one JetStream publish → consume on a nats-server of its own (the bus alone);
//   the time from a caseworker's RequestReferral to the hub's timeline entry, and to the
//   provider confirming receipt, over a few hundred referrals sent at a steady rate.
// Options: BENCH_REFERRALS (300), BENCH_RATE per second (20).
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { integer, readEnv } from '@lotse/config';
import { startNatsServer } from '@lotse/messaging';
import { common, foreignOffice as fo, lotsenhaus as hub } from '@lotse/contracts';
import { freePorts, newNetworkHome, removeHome, startNetwork, sleep } from '../network-process.js';
import { repoRoot } from '../paths.js';
import { formatRow, header, summarise } from './stats.js';

const env = readEnv();
const referrals = integer(env, 'BENCH_REFERRALS', 300, { min: 10, max: 5000 });
const rate = integer(env, 'BENCH_RATE', 20, { min: 1, max: 500 });
const say = (line: string) => process.stdout.write(line + '\n');

const home = newNetworkHome();
const ports = freePorts();
const startedAt = performance.now();
const network = await startNetwork(home, { LOTSE_PORT_BASE: String(ports.portBase), LOTSE_NATS_PORT: String(ports.natsPort), DATABASE_URL: '', NATS_URL: '' });
const firstStart = (performance.now() - startedAt) / 1000;
say(`network up in ${firstStart.toFixed(1)} s (first start, fresh data folders)`);

try {
  const foClient = network.client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
  const hubClient = network.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');

  // Baseline 1: gRPC round trip over mTLS to the hub (no database work).
  const grpcRtt: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await hubClient.listProviders({});
    if (i >= 20) grpcRtt.push(performance.now() - t);
  }

  // Baseline 2: JetStream publish (acked) → consume. The network's broker admits no stream
  // outside the layout and no user outside the deployments, so this runs on a nats-server of its
  // own (same binary, same machine, plain TCP: a lower bound for the bus alone).
  const baselineBroker = await startNatsServer({ port: ports.natsPort - 1, storeDir: join(home, 'bench-nats'), logFile: join(home, 'bench-nats.log') });
  const busRtt: number[] = [];
  try {
    const nc = await connect({ servers: baselineBroker.url });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: 'BENCH_BASELINE', subjects: ['bench.baseline'] });
    await jsm.consumers.add('BENCH_BASELINE', { durable_name: 'bench', ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get('BENCH_BASELINE', 'bench');
    const messages = await consumer.consume({ max_messages: 10 });
    const sentAt = new Map<string, number>();
    const done = (async () => {
      for await (const m of messages) {
        busRtt.push(performance.now() - sentAt.get(m.string())!);
        m.ack();
        if (busRtt.length === 300) break;
      }
    })();
    for (let i = 0; i < 300; i++) {
      sentAt.set(String(i), performance.now());
      await js.publish('bench.baseline', String(i));
      await sleep(5);
    }
    await done;
    await jsm.streams.delete('BENCH_BASELINE');
    await nc.close();
  } finally {
    await baselineBroker.stop();
  }

  // Newcomers with consent (set-up, not measured).
  say(`registering ${referrals} newcomers with consent…`);
  const municipalities = ['koblenz', 'andernach', 'mayen', 'bendorf', 'vallendar', 'weissenthurm'];
  const newcomers: fo.Newcomer[] = [];
  for (let i = 0; i < referrals; i++) {
    const { newcomer } = await foClient.registerNewcomer({
      requestId: `bench-${i}`,
      givenNames: 'Bench',
      familyName: `Person ${i}`,
      birthDate: i % 4 === 0 ? '2004-04-04' : '1984-04-04',
      nationality: 'SY',
      languages: ['ar'],
      municipality: municipalities[i % municipalities.length]!,
      residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
    });
    await foClient.recordConsent({
      requestId: `bench-consent-${i}`,
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

  // Referrals at a steady rate; each one's send time on this machine's clock.
  say(`sending ${referrals} referrals at ${rate}/s…`);
  const sent = new Map<string, number>();
  const callRtt: number[] = [];
  const interval = 1000 / rate;
  const t0 = Date.now();
  await Promise.all(
    newcomers.map(async (n, i) => {
      await sleep(Math.max(0, t0 + i * interval - Date.now()));
      const wall = Date.now();
      const t = performance.now();
      await foClient.requestReferral({ requestId: `bench-referral-${i}`, newcomerId: n.newcomerId, purpose: common.Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
      callRtt.push(performance.now() - t);
      sent.set(n.caseRef, wall);
    }),
  );

  // Collect: the hub stamps each timeline entry when it records it (same machine clock).
  const toHub: number[] = [];
  const toProvider: number[] = [];
  const deadline = Date.now() + 120_000;
  const pending = new Set(newcomers.map((n) => n.caseRef));
  while (pending.size && Date.now() < deadline) {
    for (const caseRef of [...pending]) {
      const { entries } = await hubClient.getCaseTimeline({ caseRef }).catch(() => ({ entries: [] as hub.TimelineEntry[] }));
      const requested = entries.find((e) => e.eventType === 'ReferralRequested');
      const received = entries.find((e) => e.eventType === 'ReferralReceived');
      if (requested && received) {
        toHub.push(requested.recordedAt!.getTime() - sent.get(caseRef)!);
        toProvider.push(received.recordedAt!.getTime() - sent.get(caseRef)!);
        pending.delete(caseRef);
      }
    }
    if (pending.size) await sleep(500);
  }

  const memory = network
    .network()
    .deployments.map((d) => d.pid)
    .filter((p): p is number => p !== null);
  const rssMiB = (await import('node:fs')).readFileSync;
  const totalRss = memory.reduce((sum, pid) => {
    const status = rssMiB(`/proc/${pid}/status`, 'utf8');
    return sum + Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }, 0);

  const rows = {
    'baseline: gRPC round trip (mTLS, ListProviders)': summarise(grpcRtt),
    'baseline: JetStream publish → consume': summarise(busRtt),
    'RequestReferral call (validate, write, outbox)': summarise(callRtt),
    'referral request → hub timeline entry': summarise(toHub),
    'referral request → provider inbox (hub timeline)': summarise(toProvider),
  };
  say('');
  say(header);
  for (const [name, s] of Object.entries(rows)) say(formatRow(name, s));
  say('');
  say(`${toHub.length}/${referrals} referrals reached the provider; ${pending.size} missing after 120 s.`);
  say(`referral → hub p50 is ${(rows['referral request → hub timeline entry'].p50 / rows['baseline: JetStream publish → consume'].p50).toFixed(1)}× the bare bus and ${(rows['referral request → hub timeline entry'].p50 / rows['baseline: gRPC round trip (mTLS, ListProviders)'].p50).toFixed(1)}× one gRPC hop.`);
  say(`resident memory of the ${memory.length} deployments after the run: ${totalRss.toFixed(0)} MiB`);
  mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
  writeFileSync(join(repoRoot, 'test-artifacts', 'bench.json'), JSON.stringify({ at: new Date().toISOString(), referrals, rate, firstStartSeconds: firstStart, rows, missing: pending.size, rssMiB: totalRss }, null, 2));
  foClient.close();
  hubClient.close();
} finally {
  await network.interrupt();
  removeHome(home);
}
