// Federation across hosts, on this machine (issue 15, items 2 and 3): network namespaces joined by
// veth pairs to a bridge (netns/topology.ts). What runs where:
// - n1, n2, n3: one nats-server each, the hub's cluster (R3 file streams), rendered from the
//   templates compose uses (containerLayout + clusterNodeConfig), known to every host by the names
//   in the broker's certificate (nats-1 … nats-3);
// - fo: the foreign office's host: its leaf node (leafNodeConfig, the bus-trust permissions on the
//   leaf connection) and its OutboxRelay process (the real @lotse/messaging relay, with its
//   stream reconciler), which publishes the outbox of the foreign office's own database;
// - hub: the hub's durable consumer process (the real startConsumer, applied_event dedup), a
//   client of the cluster, writing one `effect` row per handler run in the hub's own database;
// - root namespace: this test, which writes a steady stream of events into the foreign office's
//   outbox (as its services would) and counts with direct SQL. Both databases live on the shared
//   PostgreSQL, which listens on the root namespace's loopback only: each host reaches its own
//   over a database link of its own (a veth pair to the root namespace and a TCP proxy there), so
//   cutting a host's bus cable leaves its database alone. The processes address only the hosts'
//   own addresses and names.
// Faults, one after another under the steady stream (each `it` one fault, in order, each starting
// on a whole cluster): the foreign office's cable out for 60 s; the stream's leader killed with -9
// and restarted; a 2 | 1 partition with the agency's leaf on the cut-off node, and one with the
// hub's consumer on it (events must flow through the majority while they last); one of the
// cluster alone with the leaf on the minority side (the relay retries past it); 300 ms of latency with 5 % loss on the agency's cable (user
// space, netns/wire.py: this kernel has no netem); one node's store wiped; the agency's stream
// deleted on the cluster by the hub's operator (a user of this test only, federation.ts), so that
// the relay's reconciler has to make it again and re-publish what the hub had not confirmed, and
// the hub's consumer has to make its durable again on the new stream. After each, every event
// written so far took effect at the hub exactly once. The time to recover and the latency during
// each fault are printed at the end; only outcomes are asserted, within generous bounds.
// LOTSE_NETNS_KEEP=1 keeps the logs of every server and process.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '@lotse/db';
import { streamName } from '@lotse/messaging';
import { waitFor } from '@lotse/testing';
import { account, percentile, steadyStream } from './netns/accounting.js';
import { fo, hub, removeDir, startFederation, type Federation } from './netns/federation.js';

/** Generous: recovery on a loaded two-core machine, not a latency target. */
const settleBoundMs = 120_000;
/**
 * For events to flow through the majority while a node is cut off: about 20 s of missing pongs,
 * then elections; up to 50 s seen under load. Before the ping settings, nothing moved for minutes.
 */
const partitionBoundMs = 120_000;
const nodes = ['n1', 'n2', 'n3'];

let dir: string;
let world: Federation;
let stream: ReturnType<typeof steadyStream> | undefined;
const figures: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A wait's description that, when it times out, says what the servers and processes were doing. */
const explained = (what: string) => () => `${what}\n${world.diagnosis()}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-netns-'));
  world = await startFederation(dir);
  stream = steadyStream(world.foDb.db);
  // Until the relay has made the stream and the hub its durable, nothing flows: not a fault.
  await waitFor(async () => (await account(world.foDb.db, world.hubDb.db, new Date())).lastAppliedAt, 'the first event applied at the hub', 60_000);
  await waitFor(allCurrent, explained('the stream led, with both followers current'), 60_000);
}, 180_000);

afterAll(async () => {
  await stream?.stop().catch(() => undefined);
  await world?.close();
  if (figures.length) console.log(`netns federation figures:\n  ${figures.join('\n  ')}`);
  // LOTSE_NETNS_KEEP=1 keeps the servers' and processes' logs for a look afterwards.
  if (process.env.LOTSE_NETNS_KEEP) console.log(`netns federation: logs kept in ${dir}`);
  else if (dir) removeDir(dir);
});

/**
 * Every event written up to now took effect exactly once (within the bound); records the fault's
 * figures: the latency of the events written in [from, healedAt], and when the last event was
 * applied, counted from `reference` (the fault's end unless given).
 */
async function settle(fault: string, from: Date, healedAt: Date, boundMs = settleBoundMs, reference = healedAt) {
  const upTo = new Date();
  const done = await waitFor(
    async () => {
      const a = await account(world.foDb.db, world.hubDb.db, upTo, { from, to: healedAt });
      expect(a.duplicated, `${fault}: events whose effect ran twice`).toEqual([]);
      if (a.missing === 0) return a;
      // Each look reads both tables whole: not more often than this.
      await sleep(500);
      return undefined;
    },
    explained(`${fault}: every event written so far applied at the hub`),
    boundMs,
  );
  const recovery = done.lastAppliedAt ? Math.max(0, done.lastAppliedAt.getTime() - reference.getTime()) : 0;
  const l = done.latencies;
  figures.push(`${fault}: ${done.events} events so far, each applied once; all applied ${recovery} ms after ${reference === healedAt ? 'the fault ended' : 'it began'}; ${l.length ? `latency of the ${l.length} written during it p50 ${percentile(l, 0.5)} ms, p99 ${percentile(l, 0.99)} ms, max ${l.at(-1)} ms` : 'none written during it'}`);
  return done;
}

/** The stream as a node sees it, with its consumers (only a leader knows whether its replicas are current). */
const streamOn = (key: string) => world.monitor(key, '/jsz?consumers=true')?.account_details?.[0]?.stream_detail?.find((s: any) => s.name === streamName(fo.id));
const replicasCurrent = (group: any, key: string) => group?.cluster?.leader === world.nodeOf(key) && group.cluster.replicas?.length === 2 && group.cluster.replicas.every((r: any) => r.current);
/**
 * The cluster whole again: every node healthy (current with the meta leader), and the stream and
 * the hub's durable each led with both followers current. The next fault starts only then: a node
 * restarted a moment ago may count as a current stream replica while its meta or consumer group
 * still catches up, and cutting another node then leaves no quorum for those.
 */
/** Waits up to `ms` for `check`; says whether it came true (for figures, not assertions). */
async function observe(check: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(500)) if (check()) return true;
  return check();
}

function allCurrent() {
  if (!nodes.every((key) => world.monitor(key, '/healthz')?.status === 'ok')) return undefined;
  const streams = nodes.map((key) => [key, streamOn(key)] as const);
  const stream = streams.find(([key, s]) => replicasCurrent(s, key));
  const durable = streams.some(([key, s]) => s?.consumer_detail?.some((c: any) => replicasCurrent(c, key)));
  return stream && durable ? stream[1] : undefined;
}
/** The stream led by a node, with the hub's durable led too (replicas may still be behind). */
function streamLed() {
  const streams = nodes.map((key) => [key, streamOn(key)] as const);
  const led = streams.find(([key, s]) => s?.cluster?.leader === world.nodeOf(key));
  const durable = streams.some(([key, s]) => s?.consumer_detail?.some((c: any) => c?.cluster?.leader === world.nodeOf(key)));
  return led && durable ? led[1] : undefined;
}
/** How many times the hub's consumer asked the broker for another leader of its stalled durable (its log). */
function stepDowns(): number {
  return readFileSync(join(dir, 'consumer.log'), 'utf8').split('\n').filter((line) => line.includes('asked the broker for another leader')).length;
}
/** How many resets of its stream the foreign office's relay recorded (its own table, direct SQL). */
async function streamResets(): Promise<number> {
  const { rows } = await sql<{ resets: number }>`select resets from outbox_stream`.execute(world.foDb.db);
  return Number(rows[0]?.resets ?? 0);
}
/** The cluster node the hub's consumer process is connected to (its connection is named after the hub). */
function hubAttachedTo(): string | undefined {
  return nodes.find((k) => world.monitor(k, '/connz')?.connections?.some((c: any) => c.name === hub.id));
}
/** The cluster node the foreign office's leaf is attached to. */
function leafAttachedTo(): string | undefined {
  const remote = world.monitor('fo', '/leafz')?.leafs?.[0]?.ip as string | undefined;
  return nodes.find((k) => world.topology.ip(k) === remote);
}

describe('federation across network namespaces, under a steady stream of events', () => {
  it('no fault: every event applied once', async () => {
    const from = new Date();
    await sleep(5_000);
    await settle('no fault, 5 s', from, new Date());
  });

  it('the foreign office’s link cut for 60 s: its outbox fills locally, and every event arrives once after', async () => {
    const cutAt = new Date();
    world.topology.cable('fo', 'down');
    let waiting;
    try {
      await sleep(60_000);
      waiting = await account(world.foDb.db, world.hubDb.db, new Date());
    } finally {
      world.topology.cable('fo', 'up');
    }
    expect(waiting.missing, 'events written during the cut wait in the outbox').toBeGreaterThan(0);
    await settle('agency link cut 60 s', cutAt, new Date());
  }, 200_000);

  it('the stream’s leader killed with -9 and restarted after 10 s on its store', async () => {
    const leader = (await waitFor(allCurrent, explained('the cluster whole before the kill'), 60_000)).cluster.leader as string;
    const killedAt = new Date();
    await world.killNode(leader);
    try {
      await sleep(10_000);
    } finally {
      world.startNode(leader);
    }
    await settle(`node ${leader} killed -9, restarted after 10 s`, killedAt, new Date());
    await waitFor(allCurrent, explained('the restarted node current again'), 90_000);
  }, 200_000);

  it('partition 2 | 1, the node of the agency’s leaf cut off from every host: events flow through the other two while it lasts', async () => {
    await waitFor(allCurrent, explained('the cluster whole before the partition'), 90_000);
    const lonely = (await waitFor(leafAttachedTo, 'the leaf attached', 30_000))!;
    const partedAt = new Date();
    world.topology.cable(lonely, 'down');
    try {
      // While the partition lasts: the events of its first 5 s must reach the hub through the
      // majority (the leaf has to notice its dead connection and attach to another node).
      await sleep(5_000);
      // Measured from the cut: how long until the events flowed through the majority.
      await settle(`partition 2 | 1 (${world.nodeOf(lonely)} cut off with the agency's leaf on it), while it lasts, from its start`, partedAt, new Date(), partitionBoundMs, partedAt);
      expect(leafAttachedTo(), 'the leaf moved to the majority').not.toBe(lonely);
    } finally {
      world.topology.cable(lonely, 'up');
    }
    const healedAt = new Date();
    await settle(`partition 2 | 1 (${world.nodeOf(lonely)} cut off) healed`, healedAt, healedAt);
    await waitFor(allCurrent, explained('the cluster whole again'), 60_000);
  }, 240_000);

  it('partition 2 | 1, the node of the hub’s consumer cut off from every host: events reach the hub through the other two while it lasts', async () => {
    await waitFor(allCurrent, explained('the cluster whole before the partition'), 90_000);
    const lonely = (await waitFor(hubAttachedTo, 'the hub’s consumer connected', 30_000))!;
    const partedAt = new Date();
    world.topology.cable(lonely, 'down');
    try {
      await sleep(5_000);
      await settle(`partition 2 | 1 (${world.nodeOf(lonely)} cut off with the hub's consumer on it), while it lasts, from its start`, partedAt, new Date(), partitionBoundMs, partedAt);
      // Asked of the majority: the cut-off node may not have noticed yet that the connection is gone.
      const majority = nodes.filter((k) => k !== lonely);
      expect(majority.some((k) => world.monitor(k, '/connz')?.connections?.some((c: any) => c.name === hub.id)), 'the hub’s consumer moved to the majority').toBe(true);
    } finally {
      world.topology.cable(lonely, 'up');
    }
    const healedAt = new Date();
    await settle(`partition 2 | 1 (${world.nodeOf(lonely)} cut off) healed`, healedAt, healedAt);
    await waitFor(allCurrent, explained('the cluster whole again'), 60_000);
  }, 240_000);

  it('partition 2 | 1 of the cluster alone, the agency’s leaf on the minority side: the relay retries past it', async () => {
    await waitFor(allCurrent, explained('the cluster whole before the partition'), 90_000);
    const lonely = (await waitFor(leafAttachedTo, 'the leaf attached', 30_000))!;
    const peers = nodes.filter((k) => k !== lonely).map((k) => world.topology.ip(k));
    const partedAt = new Date();
    for (const peer of peers) {
      world.topology.exec(lonely, 'iptables', '-I', 'INPUT', '-s', peer, '-j', 'DROP');
      world.topology.exec(lonely, 'iptables', '-I', 'OUTPUT', '-d', peer, '-j', 'DROP');
    }
    try {
      await sleep(20_000);
    } finally {
      world.topology.exec(lonely, 'iptables', '-F');
    }
    await settle(`partition 2 | 1 of the cluster (${world.nodeOf(lonely)} alone with the agency's leaf) for 20 s`, partedAt, new Date());
    await waitFor(allCurrent, explained('the cluster whole again'), 60_000);
  }, 240_000);

  it('300 ms of latency with 5 % loss on the foreign office’s link for 30 s', async () => {
    const from = new Date();
    const restore = await world.topology.slowCable('fo', 300, 0.05);
    try {
      await sleep(30_000);
    } finally {
      await restore();
    }
    await settle('300 ms latency + 5 % loss on the agency link, 30 s', from, new Date());
  }, 200_000);

  it('one node’s store wiped (stopped, JetStream folder deleted, started again): every event still applied once', async () => {
    await waitFor(allCurrent, explained('the cluster whole before the wipe'), 90_000);
    const victim = world.nodeOf(nodes.find((k) => k !== leafAttachedTo())!);
    const wipedAt = new Date();
    await world.killNode(victim);
    try {
      rmSync(world.storeOf(victim), { recursive: true, force: true });
      // Events go on meanwhile, on the other two.
      await sleep(5_000);
    } finally {
      world.startNode(victim);
    }
    // What Lotse promises: every event took effect at the hub once, by direct SQL (asserted).
    await settle(`store of ${victim} wiped, started again empty after 5 s`, wipedAt, new Date());
    // How nats-server refills the wiped replica from its peers is its own business, and under CI
    // load it took longer than a minute once (a fresh-clone run): reported, not asserted.
    const restartedAt = Date.now();
    const refilled = await observe(() => {
      const current = allCurrent();
      return current !== undefined && streamOn(world.keyOf(victim))?.state?.messages >= (current.state.messages as number);
    }, 90_000);
    figures.push(`${victim}'s replica ${refilled ? `held the stream again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its restart` : 'had not caught up with the leader within 90 s'}`);
  }, 200_000);

  it('the foreign office’s stream deleted on the cluster: the relay makes it again and re-publishes what the hub had not confirmed', async () => {
    // After the wipe, nats-server 2.9.10 may leave a replica behind for minutes (reported above, not
    // asserted); deleting the stream drops that replica with it. So the deletion waits for a stream
    // that is led and has the hub's durable, and reports whether the cluster was whole as well.
    const whole = await observe(() => allCurrent() !== undefined, 60_000);
    if (!whole) figures.push('before the stream deletion: the cluster was not whole within 60 s of the wipe (a replica still behind)');
    await waitFor(streamLed, explained('the stream led, with the hub’s durable on it, before the deletion'), 90_000);
    const resetsBefore = await streamResets();
    // As an operator's mistake would: the stream goes, and with it the hub's durable on it.
    const gone = await world.deleteStream(streamName(fo.id));
    expect(gone.deleted, 'the cluster deleted the stream').toBe(true);
    const deletedAt = new Date(gone.at);
    // What was written up to now (what the stream held and had not delivered, and what the relay's
    // publishes since found no stream for): its recovery time, from the deletion.
    await settle(`stream deleted on the cluster (it held ${gone.messages} messages), the events up to then`, deletedAt, new Date(), settleBoundMs, deletedAt);
    // Events go on meanwhile, on the stream made again: their latency.
    await sleep(10_000);
    await settle('stream deleted on the cluster, the 10 s after', deletedAt, new Date());
    // The reconciler saw the reset (not a stream that merely answered late), and the stream it made
    // again is another one, replicated three times, with the hub's durable made again on it.
    expect(await streamResets(), 'resets the relay recorded').toBeGreaterThan(resetsBefore);
    const again = await waitFor(allCurrent, explained('the stream made again, led with both followers current, and the hub’s durable on it'), 90_000);
    expect(new Date(again.created).getTime(), 'a stream made again').not.toBe(new Date(gone.created).getTime());
    const { rows } = await sql<{ republished: number }>`select republished from outbox_stream`.execute(world.foDb.db);
    figures.push(`the stream made again holds ${again.state.messages} messages; the relay recorded ${(await streamResets()) - resetsBefore} reset(s), re-publishing ${rows[0]?.republished} events`);
  }, 240_000);

  it('the end: the outbox is empty and every event applied once', async () => {
    await stream!.stop();
    stream = undefined;
    const end = new Date();
    const done = await settle('the end', end, end);
    await waitFor(
      async () => (await world.foDb.db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('published_at', 'is', null).executeTakeFirstOrThrow()).n == 0,
      'the outbox empty',
      60_000,
    );
    // The replicas' own counts are reported, not asserted (see the wipe above). Since the deletion
    // the stream holds only what was re-published and what came after (a re-publish past the
    // duplicate window may add copies, which the hub's applied_event drops): the replicas are
    // compared with each other, not with the events.
    let counts: (number | undefined)[] = [];
    await observe(() => {
      counts = nodes.map((k) => streamOn(k)?.state?.messages as number | undefined);
      return counts.every((c) => c !== undefined && c === counts[0]);
    }, 60_000);
    figures.push(`the replicas hold ${counts.join(', ')} messages for ${done.events} events`);
    figures.push(`the hub's consumer asked the broker ${stepDowns()} time(s) for another leader of a stalled durable`);
  }, 200_000);
});
