// The README's start command with nothing configured: PGlite per deployment and a nats-server
// child. A referral reaches the hub; after Ctrl-C and a second start everything is still there,
// and a SIGTERM to pnpm stops every process.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { common, foreignOffice as fo, lotsenhaus as hub } from '@lotse/contracts';
import { freePorts, newNetworkHome, removeHome, startNetwork, startNetworkOnFreePorts, waitFor, type RunningNetwork } from '../src/network-process.js';

const home = newNetworkHome();
let network: RunningNetwork | undefined;
let squatter: Server | undefined;

afterAll(async () => {
  await network?.interrupt().catch(() => undefined);
  squatter?.close();
  removeHome(home);
}, 60_000);

describe('pnpm start with the embedded default', () => {
  it('runs a referral on PGlite and a spawned nats-server, and keeps the data across a restart', async () => {
    // The first ports drawn have their issuer port held, as a second CI run on the machine held
    // it once: the launcher says the port is taken, and the ports are drawn again.
    const held = freePorts();
    squatter = createServer();
    await new Promise<void>((resolve) => squatter!.listen(held.portBase + 40, '127.0.0.1', resolve));
    let draws = 0;
    const draw = () => {
      if (draws++ === 0) return held;
      let next = freePorts();
      while (next.portBase === held.portBase) next = freePorts();
      return next;
    };
    const started = await startNetworkOnFreePorts(home, { DATABASE_URL: '', NATS_URL: '' }, { draw });
    network = started.network;
    const env = started.env;
    expect(draws).toBe(2);
    expect(env.LOTSE_PORT_BASE).not.toBe(String(held.portBase));
    squatter.close();
    // The spawned broker takes TLS only, with each deployment's certificate as its user.
    expect(network.output).toMatch(/tls:\/\/127\.0\.0\.1:\d+/);
    for (const d of network.network().deployments) {
      expect(d.database).toBe(`pglite:${join(home, 'data', d.id)}`);
      expect(existsSync(join(home, 'data', d.id, 'PG_VERSION'))).toBe(true);
    }
    // The start-up banner names the seeded demo newcomers and how to refer one.
    const demo = /^\s+(\S+)\s+case (C-[0-9A-Z]+)\s+\(andernach/m.exec(network.output);
    expect(demo).not.toBeNull();
    const [, newcomerId, caseRef] = demo!;

    const foClient = network.client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
    await foClient.requestReferral({ requestId: 'embedded-1', newcomerId: newcomerId!, purpose: common.Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
    const hubClient = network.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
    await waitFor(async () => (await hubClient.getCaseTimeline({ caseRef: caseRef! })).entries.length === 3, 20_000, 'the referral to reach the provider');
    foClient.close();
    hubClient.close();
    await network.interrupt();

    const restartedAt = performance.now();
    network = await startNetwork(home, env, 180_000);
    // A figure for the record, not a pass mark: start-up time is the benchmark's business.
    console.log(`[embedded-default] restart with data took ${((performance.now() - restartedAt) / 1000).toFixed(1)} s`);
    const again = network.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
    const { entries, caseSummary } = await again.getCaseTimeline({ caseRef: caseRef! });
    expect(entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived']);
    expect(caseSummary!.status).toBe(common.ReferralStatus.REFERRAL_STATUS_PENDING);
    // The demo data is seeded once: the same newcomers, not a second set.
    expect(network.output).toContain(`${newcomerId}  case ${caseRef}`);
    again.close();
    // Stopped the way `timeout`, a process manager or a CI runner stops it: SIGTERM to pnpm alone.
    // The shell between pnpm and the launcher once died of it and left every deployment running.
    await network.terminate();
    network = undefined;
  }, 600_000);
});
