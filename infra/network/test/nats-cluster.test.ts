// The hub's three-node cluster with agencies attached as leaf nodes (nats-layout.ts), on loopback
// ports of this test's own: every rendered configuration loads on this nats-server; events
// published through one agency's leaf reach a durable consumed through another's; killing the
// stream's leader loses none of them; and the cluster, not the leaf, enforces the agency's
// permissions on the leaf connection.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, DeliverPolicy, JetStreamApiError } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { eventFlows } from '@lotse/flows';
import { checkNatsConfig, connectNats, StalledDurables, inboxPrefixFor, durableNameFor, ensureAgencyStream, streamName, agencySubjects, type BrokerNetwork, type NatsClients } from '@lotse/messaging';
import { DEV_PKI_ORGANISATION, ensureDevPki, loadIdentity } from '@lotse/pki';
import { createLogger } from '@lotse/logger';
import { waitFor } from '@lotse/testing';
import { BROKER_CERTIFICATE, brokerNetwork } from '../src/broker.js';
import { consoleDeployment, demoDeployments } from '../src/deployments.js';
import { startLoopbackCluster, startNatsNode, type NatsNodeProcess, type RunningNatsCluster } from '../src/nats-cluster.js';
import { clusterNodeConfig, leafNodeConfig } from '../src/nats-layout.js';
import { loopbackLayout } from '../src/nats-layout-placement.js';

const fo = { id: 'kv-mayen-koblenz', agencyType: 'foreign-office' };
const hub = { id: 'lotsenhaus', agencyType: 'lotsenhaus' };
const provider = { id: 'caritas-koblenz', agencyType: 'migration-services' };
const network: BrokerNetwork = { deployments: [fo, hub, provider], hubId: hub.id, eventFlows: eventFlows(), organisation: DEV_PKI_ORGANISATION };

let dir: string;
let pki: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-nats-cluster-'));
  pki = join(dir, 'pki');
  const demo = demoDeployments(50050);
  await ensureDevPki(pki, [...[...demo, consoleDeployment(50050)].map((d) => ({ id: d.id, agencyType: d.agencyType })), BROKER_CERTIFICATE]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A hundred ports below the ephemeral range, drawn again when one is taken (as the e2e networks do). */
async function startCluster(options: Partial<Parameters<typeof startLoopbackCluster>[0]> & { name: string }): Promise<RunningNatsCluster> {
  for (let attempt = 1; ; attempt++) {
    const basePort = 20_000 + Math.floor(Math.random() * 127) * 100;
    const home = join(dir, `${options.name}-${basePort}`);
    try {
      return await startLoopbackCluster({
        basePort,
        storeRoot: join(home, 'js'),
        pkiDir: pki,
        network,
        broker: BROKER_CERTIFICATE,
        dir: join(home, 'conf'),
        logDir: join(home, 'logs'),
        ...options,
      });
    } catch (error) {
      if (attempt >= 5 || !/is taken/.test((error as Error).message)) throw error;
    }
  }
}

function connectAs(id: string, url: string): Promise<NatsClients> {
  return connectNats({ servers: url.split(','), name: id, tls: loadIdentity(pki, id) });
}

/** Until the cluster has elected its JetStream meta leader, API requests fail; then the stream is made. */
async function ensureStreamR3(nats: NatsClients, id: string) {
  return waitFor(
    async () => {
      try {
        return await ensureAgencyStream(nats.jsm, id, 3);
      } catch (error) {
        // 503 "JetStream system temporarily unavailable", no responders, timeouts: not elected yet.
        if (error instanceof JetStreamApiError && error.code !== 10008) throw error;
        return undefined;
      }
    },
    `the stream ${streamName(id)} with 3 replicas`,
    30_000,
  );
}

/** The stream's info once it names a leader and both followers are current; otherwise undefined. */
async function streamReady(nats: NatsClients, stream: string) {
  const s = await nats.jsm.streams.info(stream).catch(() => undefined);
  const replicas = s?.cluster?.replicas ?? [];
  return s?.cluster?.leader && replicas.length === 2 && replicas.every((r) => r.current) ? s : undefined;
}

describe('the NATS cluster and leaf layout', () => {
  it('renders configurations that this nats-server loads: three nodes, a leaf for every agency of the demo network', () => {
    const demo = brokerNetwork(demoDeployments(50050), consoleDeployment(50050));
    const layout = loopbackLayout({ basePort: 24_000, storeRoot: join(dir, 'render-js'), pkiDir: pki, network: demo, broker: BROKER_CERTIFICATE });
    expect(layout.cluster.nodes).toHaveLength(3);
    // Every agency but the hub, which (like the console) is a client of the cluster itself.
    expect(layout.leaves.map((l) => l.agency.id).sort()).toEqual(demo.deployments.filter((d) => d.id !== demo.hubId).map((d) => d.id).sort());
    const files = [
      ...layout.cluster.nodes.map((n) => [n.name, clusterNodeConfig(layout.cluster, n)] as const),
      ...layout.leaves.map((l) => [l.name, leafNodeConfig(l)] as const),
    ];
    for (const [name, text] of files) {
      const file = join(dir, `render-${name}.conf`);
      writeFileSync(file, text);
      expect(checkNatsConfig(file), name).toBeUndefined();
    }
  });

  it('carries events from one leaf to a durable read through another, and loses none when the stream leader is killed', async () => {
    // The hub behind a leaf of its own too, so that both ends of the flow cross a leaf connection.
    const cluster = await startCluster({ name: 'flow', viaLeaf: () => true });
    const open: NatsClients[] = [];
    try {
      const producer = await connectAs(fo.id, cluster.urlFor(fo.id));
      const recipient = await connectAs(hub.id, cluster.urlFor(hub.id));
      open.push(producer, recipient);
      const stream = streamName(fo.id);
      const info = await ensureStreamR3(producer, fo.id);
      expect(info.config.num_replicas).toBe(3);
      // Made is not ready: the stream's Raft group elects its leader and its followers catch up
      // only afterwards; the consumer made at that moment waited for an answer that did not come.
      await waitFor(() => streamReady(producer, stream), 'the stream led, with both followers current', 30_000);

      // The hub's durable on the foreign office's stream, the one its permissions name (durablesFor).
      const filter = agencySubjects(fo.id);
      const durable = durableNameFor(hub.id, filter);
      await recipient.jsm.consumers.add(stream, { durable_name: durable, filter_subject: filter, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });

      const total = 200;
      // As the outbox relay does: an event whose publish failed (no leader yet, a node gone) is
      // sent again with the same Nats-Msg-Id, and the stream keeps one copy.
      const publish = async (i: number) => {
        for (;;) {
          try {
            const ack = await producer.js.publish(`lotse.${fo.id}.referral-requested.${hub.id}`, new TextEncoder().encode(String(i)), { msgID: `event-${i}`, timeout: 2_000 });
            return ack;
          } catch {
            // Retried until the cluster answers; the test's timeout bounds it.
          }
        }
      };
      for (let i = 0; i < total / 2; i++) await publish(i);

      // Kill -9 the node that leads the stream, in the middle of the flow.
      const leader = (await producer.jsm.streams.info(stream)).cluster?.leader;
      const victim = cluster.nodes.find((n) => n.name === leader);
      expect(victim, `the stream's leader (${leader}) is one of the three nodes`).toBeDefined();
      await victim!.kill();
      for (let i = total / 2; i < total; i++) await publish(i);

      // Every event is in the stream once, and the survivors elected another leader.
      const after = await waitFor(async () => {
        try {
          const s = await producer.jsm.streams.info(stream);
          return s.cluster?.leader && s.cluster.leader !== leader ? s : undefined;
        } catch {
          return undefined;
        }
      }, 'a new stream leader', 30_000);
      expect(after.state.messages).toBe(total);

      // The consumer has a Raft group of its own: if it was led by the killed node, its info is
      // answered only once the survivors elected its new leader.
      await waitFor(async () => {
        const c = await recipient.jsm.consumers.info(stream, durable).catch(() => undefined);
        return c?.cluster?.leader && c.cluster.leader !== leader ? c : undefined;
      }, 'a leader of the hub’s consumer on a surviving node', 30_000);

      // Read through the hub's leaf: every event exactly once, counted with the consumer.
      const seen = new Set<string>();
      const consumer = await recipient.js.consumers.get(stream, durable);
      while (seen.size < total) {
        const batch = await consumer.fetch({ max_messages: 50, expires: 2_000 });
        for await (const m of batch) {
          const body = new TextDecoder().decode(m.data);
          expect(seen.has(body), `event ${body} delivered once`).toBe(false);
          seen.add(body);
          await m.ackAck();
        }
      }
      const state = await recipient.jsm.consumers.info(stream, durable);
      expect(state.num_pending).toBe(0);
      expect(state.num_ack_pending).toBe(0);
      expect(state.ack_floor.stream_seq).toBe(total);

      // The killed node comes back and catches up: all three replicas are current again.
      await victim!.restart();
      const healed = await waitFor(() => streamReady(producer, stream), 'all three replicas current', 30_000);
      expect(healed.state.messages).toBe(total);
    } finally {
      await Promise.all(open.map((n) => n.close().catch(() => undefined)));
      await cluster.stop();
    }
  }, 120_000);

  it('enforces the agency’s permissions on the leaf connection itself: a leaf that lets its clients do anything still cannot read another stream', async () => {
    const cluster = await startCluster({ name: 'perm' });
    const open: NatsClients[] = [];
    let rogue: NatsNodeProcess | undefined;
    try {
      // The hub's stream, with one event addressed to the provider.
      const hubNats = await connectAs(hub.id, cluster.urlFor(hub.id));
      open.push(hubNats);
      await ensureStreamR3(hubNats, hub.id);
      await hubNats.js.publish(`lotse.${hub.id}.referral-routed.${provider.id}`, new TextEncoder().encode('secret'), { msgID: 'routed-1' });

      // The foreign office's operator rewrites its leaf: no users, no TLS for local clients, anyone
      // local may do anything. The leaf connection still presents the foreign office's certificate.
      const honest = cluster.layout.leaves.find((l) => l.agency.id === fo.id)!;
      const port = cluster.basePort + 90;
      const text = leafNodeConfig({ ...honest, name: 'rogue-leaf', client: { host: '127.0.0.1', port } })
        .replace(/\ntls \{[\s\S]*?\n\}\n/, '\n')
        .replace(/\nauthorization \{[\s\S]*?\n\}\n/, '\n');
      expect(text).not.toMatch(/verify_and_map|authorization/);
      const file = join(dir, `rogue-leaf-${port}.conf`);
      writeFileSync(file, text);
      expect(checkNatsConfig(file)).toBeUndefined();
      rogue = await startNatsNode('rogue-leaf', file, join(dir, `rogue-leaf-${port}.log`), { host: '127.0.0.1', port });

      // Replies come back only to the inbox the foreign office may subscribe to.
      const nc = await connect({ servers: `nats://127.0.0.1:${port}`, inboxPrefix: inboxPrefixFor(fo.id) });
      try {
        // What the foreign office may do crosses the leaf (its own stream's info)...
        await waitFor(async () => {
          const reply = await nc.request(`$JS.API.STREAM.INFO.${streamName(fo.id)}`, '', { timeout: 1_000 }).catch(() => undefined);
          return reply !== undefined;
        }, 'the rogue leaf connected to the cluster', 20_000);
        // ...what it may not, does not: the cluster drops the request at the leaf connection, so
        // nothing answers (no responders or a timeout), and the hub's message stays unread.
        for (const subject of [`$JS.API.STREAM.MSG.GET.${streamName(hub.id)}`, `$JS.API.STREAM.INFO.${streamName(hub.id)}`, `$JS.API.STREAM.DELETE.${streamName(hub.id)}`]) {
          const outcome = await nc.request(subject, JSON.stringify({ seq: 1 }), { timeout: 1_500 }).then(
            (m) => `answered: ${new TextDecoder().decode(m.data)}`,
            (e: Error) => `refused: ${e.message}`,
          );
          expect(outcome, subject).toMatch(/^refused/);
        }
        // Publishing on the hub's subjects through the leaf stores nothing.
        nc.publish(`lotse.${hub.id}.referral-routed.${provider.id}`, 'forged');
        await nc.flush();
        await nc.request(`$JS.API.STREAM.INFO.${streamName(fo.id)}`, '', { timeout: 2_000 });
        expect((await hubNats.jsm.streams.info(streamName(hub.id))).state.messages).toBe(1);
      } finally {
        await nc.close();
      }
    } finally {
      await rogue?.stop();
      await Promise.all(open.map((n) => n.close().catch(() => undefined)));
      await cluster.stop();
    }
  }, 120_000);

  it('lets only the broker certificate form a route: a server with an agency certificate from the same CA is refused', async () => {
    const cluster = await startCluster({ name: 'route' });
    const started: NatsNodeProcess[] = [];
    const node1 = cluster.layout.cluster.nodes[0]!;
    const routes = async (port: number) => ((await (await fetch(`http://127.0.0.1:${port}/routez`)).json()) as { num_routes: number }).num_routes;
    try {
      expect(await routes(node1.httpPort!)).toBe(2);
      const intrude = async (id: string, offset: number) => {
        const port = cluster.basePort + offset;
        const file = join(dir, `route-${id}-${port}.conf`);
        writeFileSync(
          file,
          [
            `server_name: "intruder-${id}"`,
            'host: "127.0.0.1"',
            `port: ${port}`,
            `http_port: ${port + 1}`,
            'cluster {',
            '  name: "lotse"',
            '  host: "127.0.0.1"',
            `  port: ${port + 2}`,
            `  routes: ["nats-route://127.0.0.1:${node1.cluster.port}"]`,
            `  tls { cert_file: "${pki}/${id}.crt", key_file: "${pki}/${id}.key", ca_file: "${pki}/ca.crt", timeout: 5 }`,
            '}',
            '',
          ].join('\n'),
        );
        const log = join(dir, `route-${id}-${port}.log`);
        const server = await startNatsNode(`intruder-${id}`, file, log, { host: '127.0.0.1', port });
        started.push(server);
        return { server, log, httpPort: port + 1 };
      };

      // An agency's certificate: the node refuses the route, and the intruder says why.
      const agency = await intrude(fo.id, 90);
      await waitFor(() => existsSync(agency.log) && readFileSync(agency.log, 'utf8').includes("Route Error 'Authorization Violation'"), 'the refused route', 20_000);
      expect(await routes(agency.httpPort)).toBe(0);
      expect(await routes(node1.httpPort!)).toBe(2);
      await agency.server.stop();

      // The same configuration with the broker's certificate joins: the refusal was the certificate.
      const broker = await intrude(BROKER_CERTIFICATE.id, 95);
      await waitFor(async () => (await routes(node1.httpPort!)) === 3, 'the broker certificate’s route', 20_000);
      await broker.server.stop();
    } finally {
      await Promise.all(started.map((s) => s.stop()));
      await cluster.stop();
    }
  }, 120_000);
  it('moves a durable’s leader when the hub asks (a stalled durable), lets no one else ask, and leaves a flowing durable alone', async () => {
    const cluster = await startCluster({ name: 'stall' });
    const open: NatsClients[] = [];
    try {
      const producer = await connectAs(fo.id, cluster.urlFor(fo.id));
      const recipient = await connectAs(hub.id, cluster.urlFor(hub.id));
      const other = await connectAs(provider.id, cluster.urlFor(provider.id));
      open.push(producer, recipient, other);
      const stream = streamName(fo.id);
      await ensureStreamR3(producer, fo.id);
      await waitFor(() => streamReady(producer, stream), 'the stream led, with both followers current', 30_000);
      const filter = agencySubjects(fo.id);
      const durable = durableNameFor(hub.id, filter);
      await recipient.jsm.consumers.add(stream, { durable_name: durable, filter_subject: filter, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
      const leaderNow = async () => (await recipient.jsm.consumers.info(stream, durable).catch(() => undefined))?.cluster?.leader;
      const before = await waitFor(leaderNow, 'the durable led', 30_000);
      const watch = new StalledDurables({ nc: recipient.nc, jsm: recipient.jsm, stream, durables: [{ name: durable, filter }], logger: createLogger('stall-test', { level: 'silent' }), stallMs: 2_000 });

      // The provider may not move the hub's durable: the cluster drops its request.
      const refused = await other.nc.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${durable}`, undefined, { timeout: 1_500 }).then(
        () => 'answered',
        (e: Error) => `refused: ${e.message}`,
      );
      expect(refused).toMatch(/^refused/);
      expect(await leaderNow()).toBe(before);

      // The hub may, for its own durable: another node leads it afterwards.
      await watch.stepDown(durable);
      const after = await waitFor(async () => {
        const l = await leaderNow();
        return l && l !== before ? l : undefined;
      }, 'another leader of the durable', 30_000);
      expect(after).not.toBe(before);

      // A durable that delivers is never judged stalled: events flow for 8 s, looked at every second.
      const consumer = await recipient.js.consumers.get(stream, durable);
      const messages = await consumer.consume({ max_messages: 10 });
      const reading = (async () => {
        for await (const m of messages) m.ack();
      })();
      for (let i = 0; i < 16; i++) {
        await producer.js.publish(`lotse.${fo.id}.referral-requested.${hub.id}`, new TextEncoder().encode(String(i)), { msgID: `flow-${i}` });
        await new Promise((r) => setTimeout(r, 250));
        if (i % 2 === 1) await watch.checkAll();
      }
      // What the hub's permissions let it see of the stream: the counts it judges by.
      const counted = await recipient.jsm.streams.info(stream, { subjects_filter: filter });
      expect(Object.values(counted.state.subjects ?? {}).reduce((a, b) => a + b, 0)).toBe(16);
      await waitFor(async () => (await recipient.jsm.consumers.info(stream, durable)).ack_floor.stream_seq === 16, 'all 16 acknowledged', 20_000);
      // Idle afterwards: nothing pending, nothing to judge.
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 1_000));
        await watch.checkAll();
      }
      expect(watch.steppedDown()).toBe(0);
      await messages.close();
      await reading;
    } finally {
      await Promise.all(open.map((n) => n.close().catch(() => undefined)));
      await cluster.stop();
    }
  }, 120_000);
});
