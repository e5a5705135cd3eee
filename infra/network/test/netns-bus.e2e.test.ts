// The bus across hosts, on this machine: network namespaces joined by veth pairs to a bridge
// (iproute2; tests run as root here). The hub's namespace holds the three cluster nodes and the
// hub's consumer; the foreign office's namespace holds its leaf node and its publisher. Every
// process runs in its namespace and addresses only the namespaces' own addresses.
//
// A start of issue 15, item 2, at the level of the bus (no services or databases yet): under a
// stream of events, the foreign office's link is cut and restored, and a cluster node is killed
// with -9 and restarted; afterwards every event is in the stream once and read once.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventFlows } from '@lotse/flows';
import { agencySubjects, durableNameFor, natsServerBinary, streamName, type BrokerNetwork } from '@lotse/messaging';
import { DEV_PKI_ORGANISATION, ensureDevPki } from '@lotse/pki';
import { waitFor } from '@lotse/testing';
import { BROKER_CERTIFICATE } from '../src/broker.js';
import { clusterNodeConfig, leafNodeConfig, loopbackLayout } from '../src/nats-layout.js';

const fo = { id: 'kv-mayen-koblenz', agencyType: 'foreign-office' };
const hub = { id: 'lotsenhaus', agencyType: 'lotsenhaus' };
const network: BrokerNetwork = { deployments: [fo, hub], hubId: hub.id, eventFlows: eventFlows(), organisation: DEV_PKI_ORGANISATION };
const client = join(dirname(fileURLToPath(import.meta.url)), 'netns', 'bus-client.ts');

const sfx = randomBytes(2).toString('hex');
const ns = { sw: `lotse-${sfx}-sw`, hub: `lotse-${sfx}-hub`, fo: `lotse-${sfx}-fo` };
const subnet = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
const hubIp = `${subnet}.1`;
const foIp = `${subnet}.11`;
/** The foreign office's end of its link, on the bridge: down is a cut cable. */
const foPort = `p${sfx}fo`;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (name: string, ...args: string[]) => ip('netns', 'exec', name, ...args);

let dir: string;
const children: ChildProcess[] = [];

function attach(name: string, address: string, key: string): void {
  const inside = `v${sfx}${key}`;
  const onBridge = `p${sfx}${key}`;
  ip('link', 'add', inside, 'type', 'veth', 'peer', 'name', onBridge);
  ip('link', 'set', inside, 'netns', name);
  ip('link', 'set', onBridge, 'netns', ns.sw);
  inNs(ns.sw, 'ip', 'link', 'set', onBridge, 'master', 'br0', 'up');
  inNs(name, 'ip', 'addr', 'add', `${address}/24`, 'dev', inside);
  inNs(name, 'ip', 'link', 'set', inside, 'up');
  inNs(name, 'ip', 'link', 'set', 'lo', 'up');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-netns-'));
  await ensureDevPki(join(dir, 'pki'), [fo, hub, BROKER_CERTIFICATE]);
  for (const name of Object.values(ns)) ip('netns', 'add', name);
  inNs(ns.sw, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
  inNs(ns.sw, 'ip', 'link', 'set', 'br0', 'up');
  attach(ns.hub, hubIp, 'hub');
  attach(ns.fo, foIp, 'fo');
  // `ip netns exec` puts /etc/netns/<ns>/hosts over /etc/hosts: the foreign office knows the hub
  // by the name in the broker's certificate, as it would know it by DNS.
  for (const name of [ns.hub, ns.fo]) {
    mkdirSync(`/etc/netns/${name}`, { recursive: true });
    writeFileSync(`/etc/netns/${name}/hosts`, `127.0.0.1 localhost\n${hubIp} nats\n`);
  }
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  for (const name of Object.values(ns)) {
    try {
      ip('netns', 'del', name);
    } catch {
      // Not made (a failed start); nothing to remove.
    }
  }
  for (const name of [ns.hub, ns.fo]) rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

function spawnIn(name: string, command: string[], log?: string): ChildProcess {
  // `ip netns exec` execs the command: the child's pid is the server's, so kill -9 reaches it.
  const child = spawn('ip', ['netns', 'exec', name, ...command], { stdio: ['pipe', 'pipe', log ? 'ignore' : 'pipe'] });
  children.push(child);
  return child;
}

function curlIn(name: string, url: string): any {
  try {
    return JSON.parse(inNs(name, 'curl', '-sf', '--max-time', '2', url));
  } catch {
    return undefined;
  }
}

/** A line-by-line JSON reader of a client's stdout. */
function lines(child: ChildProcess) {
  const seen: any[] = [];
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => seen.push(JSON.parse(l)));
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  return {
    seen,
    next: (match: (o: any) => boolean, what: string, timeoutMs = 60_000) =>
      waitFor(() => {
        if (child.exitCode !== null && child.exitCode !== 0) throw new Error(`${what}: client exited ${child.exitCode}: ${err}`);
        return seen.find(match);
      }, what, timeoutMs),
  };
}

describe('the bus across network namespaces', () => {
  it('loses no event and duplicates none when an agency’s link is cut and a cluster node is killed', async () => {
    const binary = natsServerBinary()!;
    const layout = loopbackLayout({ basePort: 4300, host: hubIp, storeRoot: join(dir, 'js'), pkiDir: join(dir, 'pki'), network, broker: BROKER_CERTIFICATE, viaLeaf: (d) => d.id === fo.id });
    // Routes and clients dial the hub by the name in the broker's certificate.
    layout.cluster = { ...layout.cluster, routes: layout.cluster.nodes.map((n) => `nats-route://nats:${n.cluster.port}`) };
    const servers = new Map<string, ChildProcess>();
    const startNode = (name: string) => {
      const node = layout.cluster.nodes.find((n) => n.name === name)!;
      const file = join(dir, `${name}.conf`);
      writeFileSync(file, clusterNodeConfig(layout.cluster, node));
      servers.set(name, spawnIn(ns.hub, [binary, '-c', file, '-l', join(dir, `${name}.log`)], 'log'));
    };
    for (const n of layout.cluster.nodes) startNode(n.name);
    for (const n of layout.cluster.nodes) await waitFor(() => curlIn(ns.hub, `http://${hubIp}:${n.httpPort}/healthz`)?.status === 'ok', `${n.name} healthy`, 30_000);

    // The foreign office's leaf, in its namespace, dialling the hub by name.
    const leaf = { ...layout.leaves[0]!, client: { host: '127.0.0.1', port: 4222 }, httpPort: 8222, hubUrls: layout.cluster.nodes.map((n) => `tls://nats:${n.leaf.port}`) };
    const leafFile = join(dir, 'leaf.conf');
    writeFileSync(leafFile, leafNodeConfig(leaf));
    spawnIn(ns.fo, [binary, '-c', leafFile, '-l', join(dir, 'leaf.log')], 'log');
    const leafConnected = () => (curlIn(ns.fo, 'http://127.0.0.1:8222/leafz')?.leafs?.length ?? 0) > 0;
    await waitFor(leafConnected, 'the leaf connected to the hub', 30_000);

    const publisher = spawnIn(ns.fo, ['node', '--import', 'tsx', client, 'publish', 'tls://127.0.0.1:4222', fo.id, join(dir, 'pki'), `lotse.${fo.id}.referral-requested.${hub.id}`]);
    const out = lines(publisher);
    publisher.stdin!.write('0 100\n');
    await out.next((o) => o.done === 100, 'the first 100 events');

    // Cut the foreign office's cable, publish into the cut, see the publisher retry, restore.
    inNs(ns.sw, 'ip', 'link', 'set', foPort, 'down');
    publisher.stdin!.write('100 200\n');
    // Held until five publishes have failed (each waits 2 s for its acknowledgement).
    await out.next(() => out.seen.filter((o) => o.retry !== undefined).length >= 5, 'five publishes refused while the link is down');
    const restoredAt = Date.now();
    inNs(ns.sw, 'ip', 'link', 'set', foPort, 'up');
    const second = await out.next((o) => o.done === 200, 'the events sent during the cut');
    console.log(`link cut: ${second.retries} retries; all sent ${second.at - restoredAt} ms after the link returned; slowest publish ${second.maxMs} ms, median ${second.p50Ms} ms`);

    // Kill -9 the node that leads the stream while events flow, start it again.
    const jsz = curlIn(ns.hub, `http://${hubIp}:${layout.cluster.nodes[0]!.httpPort}/jsz?streams=true`);
    const leader = jsz.account_details[0].stream_detail.find((s: any) => s.name === streamName(fo.id)).cluster.leader as string;
    publisher.stdin!.write('200 300\n');
    const victim = servers.get(leader)!;
    victim.kill('SIGKILL');
    await new Promise((r) => victim.once('exit', r));
    const third = await out.next((o) => o.done === 300, 'the events sent while a node was dead');
    console.log(`node ${leader} killed: ${third.retries} retries; slowest publish ${third.maxMs} ms, median ${third.p50Ms} ms`);
    startNode(leader);
    publisher.stdin!.end();

    // The hub reads the foreign office's stream: every event once.
    const filter = agencySubjects(fo.id);
    const consumer = spawnIn(ns.hub, ['node', '--import', 'tsx', client, 'consume', `tls://nats:${layout.cluster.nodes.find((n) => n.name !== leader)!.client.port}`, hub.id, join(dir, 'pki'), streamName(fo.id), durableNameFor(hub.id, filter), filter, '300']);
    const result = await lines(consumer).next((o) => o.distinct !== undefined, 'the hub read every event');
    expect(result).toEqual({ distinct: 300, deliveries: 300, pending: 0, ackPending: 0, ackFloor: 300 });
    // And the stream holds each event once (the monitoring endpoint, on a node that stayed up).
    const survivor = layout.cluster.nodes.find((n) => n.name !== leader)!;
    const stream = curlIn(ns.hub, `http://${hubIp}:${survivor.httpPort}/jsz?streams=true`).account_details[0].stream_detail.find((s: any) => s.name === streamName(fo.id));
    expect(stream.state.messages).toBe(300);
    // The killed node caught up: both other replicas current again.
    await waitFor(() => {
      const s = curlIn(ns.hub, `http://${hubIp}:${survivor.httpPort}/jsz?streams=true`)?.account_details?.[0]?.stream_detail?.find((x: any) => x.name === streamName(fo.id));
      return s?.cluster?.replicas?.length === 2 && s.cluster.replicas.every((r: any) => r.current);
    }, 'the restarted node current', 60_000);
  }, 240_000);
});
