// The world of netns-federation.e2e.test.ts: the hosts (topology.ts), the hub's three cluster
// nodes and the foreign office's leaf node rendered from the templates compose uses
// (containerLayout: every server on its standard ports in a namespace of its own), each
// deployment's database on the shared PostgreSQL reached over its own database link, and the
// relay and consumer processes (deployment-process.ts).
import { execFile, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eventFlows } from '@lotse/flows';
import { createTestDatabase, migrateToLatest, openDatabase, sql, type Database, type Migrations, type TestDatabase } from '@lotse/db';
import { certificateSubject, consumerMigrations, inboxPrefixFor, natsServerBinary, outboxMigrations, type BrokerNetwork } from '@lotse/messaging';
import { DEV_PKI_ORGANISATION, ensureDevPki } from '@lotse/pki';
import { waitFor } from '@lotse/testing';
import { BROKER_CERTIFICATE } from '../../src/broker.js';
import { clusterNodeConfig, leafNodeConfig } from '../../src/nats-layout.js';
import { containerLayout } from '../../src/nats-layout-placement.js';
import { startDatabaseProxy } from './database-proxy.js';
import { hostProcesses, running, startClusterNodes } from './host-processes.js';
import { buildTopology, type Topology } from './topology.js';

export const fo = { id: 'kv-mayen-koblenz', agencyType: 'foreign-office' };
export const hub = { id: 'lotsenhaus', agencyType: 'lotsenhaus' };
const network: BrokerNetwork = { deployments: [fo, hub], hubId: hub.id, eventFlows: eventFlows(), organisation: DEV_PKI_ORGANISATION };
const nodeNames = ['nats-1', 'nats-2', 'nats-3'];
/** The broker's certificate names the three nodes, as compose's does. */
const broker = { ...BROKER_CERTIFICATE, hostnames: ['nats', ...nodeNames] };
const processScript = join(dirname(fileURLToPath(import.meta.url)), 'deployment-process.ts');
const operatorScript = join(dirname(fileURLToPath(import.meta.url)), 'operator.ts');
/**
 * The hub operator, for the faults an operator causes (a stream deleted): a user of this test only.
 * A deployment may delete only its own stream (permissionsFor: its relay makes one that went back
 * again), and the generated configuration has no operator user, so the test adds one with the
 * whole JetStream API to the nodes' users.
 */
const operator = { id: 'netns-operator', agencyType: 'operator' };

/** A node's configuration with the operator's user added to its client users. */
function withOperator(config: string): string {
  const users = 'authorization {\n  users: [\n';
  if (config.split(users).length !== 2) throw new Error('netns: the node configuration has no single users block to add the operator to');
  const user = [
    '    {',
    `      user: ${JSON.stringify(certificateSubject(operator, DEV_PKI_ORGANISATION))}`,
    `      permissions: { publish: { allow: ["$JS.API.>"] }, subscribe: { allow: [${JSON.stringify(`${inboxPrefixFor(operator.id)}.>`)}] } }`,
    '    }',
    '',
  ].join('\n');
  return config.replace(users, users + user);
}

/** The hub's table of effects: one row per run of its handler, deliberately not unique. */
const effectMigrations: Migrations = {
  netns_0001_effect: {
    up: async (db) => {
      await db.schema
        .createTable('effect')
        .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
};

export interface Federation {
  topology: Topology;
  dir: string;
  /** Node key (n1…n3) by server name, and back. */
  keyOf(node: string): string;
  nodeOf(key: string): string;
  foDb: Database<any>;
  hubDb: Database<any>;
  startNode(name: string): void;
  /** A node's JetStream store (its own folder). */
  storeOf(name: string): string;
  /** kill -9; resolves when it is gone. */
  killNode(name: string): Promise<void>;
  /** Deletes a stream on the cluster, as the hub's operator from the hub's host: when (ISO), and its info from before. */
  deleteStream(stream: string): Promise<{ deleted: boolean; at: string; created: string; messages: number; lastSeq: number }>;
  /** The JSON of a server's monitoring endpoint, asked inside its own namespace; undefined when it does not answer. */
  monitor(key: string, path: string): any;
  /**
   * What a timed-out wait prints, for a failure seen once in a run whose logs are gone: whether
   * the relay and the consumer still run, the stream and its durables as each node sees them, and
   * the last lines of every log.
   */
  diagnosis(): string;
  close(): Promise<void>;
}

export async function startFederation(dir: string): Promise<Federation> {
  const topology = buildTopology({ n1: 1, n2: 2, n3: 3, hub: 10, fo: 11 }, { 'nats-1': 'n1', 'nats-2': 'n2', 'nats-3': 'n3' }, ['fo']);
  const hosts = hostProcesses(topology, dir);
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    await hosts.stopAll(5_000);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    topology.remove();
  };
  const { spawnIn, monitor } = hosts;
  try {
    const pki = join(dir, 'pki');
    await ensureDevPki(pki, [fo, hub, broker, operator]);
    const layout = containerLayout({ network, broker, nodeNames, routeHosts: nodeNames, leafHubHosts: nodeNames, pki, storeDir: join(dir, 'js') });
    const nodes = await startClusterNodes(hosts, dir, layout.cluster, (cluster, node) => withOperator(clusterNodeConfig(cluster, node)));
    const binary = natsServerBinary()!;

    const leafFile = join(dir, 'leaf.conf');
    writeFileSync(leafFile, leafNodeConfig(layout.leaves[0]!));
    spawnIn('fo', [binary, '-c', leafFile], 'leaf.log');
    await waitFor(() => (monitor('fo', '/leafz')?.leafs?.length ?? 0) > 0, 'the leaf connected to the hub', 30_000);

    // Each deployment's own database, reached from its namespace over its database link only.
    const databases: Record<string, { test: TestDatabase; db: Database<any>; url: string }> = {};
    for (const key of ['fo', 'hub']) {
      const test = await createTestDatabase(`lotse_netns_${key}`);
      cleanups.push(() => test.drop());
      const db = await openDatabase<any>({ url: test.url, dataDir: 'unused', poolSize: 3 });
      cleanups.push(() => db.close());
      await migrateToLatest(db.db, ...(key === 'fo' ? [outboxMigrations] : [consumerMigrations, effectMigrations]));
      const link = topology.databaseLink(key);
      const proxy = await startDatabaseProxy(link.rootIp);
      cleanups.push(() => proxy.close());
      databases[key] = { test, db, url: `postgres://postgres@${link.rootIp}:${proxy.port}/${test.name}` };
    }
    const clusterUrls = nodeNames.map((n) => `tls://${n}:4222`).join(',');
    const relay = spawnIn('fo', ['node', '--import', 'tsx', processScript, 'relay', 'tls://127.0.0.1:4222', fo.id, pki, databases.fo!.url], 'relay.log');
    const consumer = spawnIn('hub', ['node', '--import', 'tsx', processScript, 'consume', clusterUrls, hub.id, pki, databases.hub!.url, fo.id], 'consumer.log');

    return {
      topology,
      dir,
      ...nodes,
      foDb: databases.fo!.db,
      hubDb: databases.hub!.db,
      deleteStream: async (stream) => {
        const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', topology.ns('hub'), 'node', '--import', 'tsx', operatorScript, 'delete-stream', clusterUrls, operator.id, pki, stream], { timeout: 60_000 });
        return JSON.parse(stdout.trim().split('\n').at(-1)!);
      },
      monitor,
      diagnosis: () => diagnosis(dir, { relay, consumer }, nodeNames.map((n) => [n, monitor(nodes.keyOf(n), '/jsz?consumers=true')])),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

const stateOf = (c: ChildProcess) => (running(c) ? 'running' : `exited (code ${c.exitCode}, signal ${c.signalCode})`);

function diagnosis(dir: string, processes: Record<string, ChildProcess>, jsz: [string, any][]): string {
  const lines = [Object.entries(processes).map(([name, c]) => `${name} process ${stateOf(c)}`).join('; ')];
  for (const [node, z] of jsz) {
    const streams = z?.account_details?.[0]?.stream_detail ?? [];
    if (!z) lines.push(`${node}: no answer`);
    for (const s of streams) {
      lines.push(`${node}: stream ${s.name} leader ${s.cluster?.leader} replicas ${JSON.stringify(s.cluster?.replicas?.map((r: any) => [r.name, r.current, r.lag]))} state ${JSON.stringify(s.state)}`);
      for (const c of s.consumer_detail ?? []) {
        lines.push(`${node}:   durable ${c.name} leader ${c.cluster?.leader} delivered ${JSON.stringify(c.delivered)} ack_floor ${JSON.stringify(c.ack_floor)} pending ${c.num_pending} ack_pending ${c.num_ack_pending} waiting ${c.num_waiting}`);
      }
    }
  }
  for (const log of ['relay.log', 'consumer.log', 'leaf.log', ...jsz.map(([n]) => `${n}.log`)]) {
    let tail: string[] = [];
    try {
      tail = readFileSync(join(dir, log), 'utf8').trimEnd().split('\n').slice(-12);
    } catch {
      tail = ['(none)'];
    }
    lines.push(`--- last lines of ${log}`, ...tail.map((l) => l.slice(0, 400)));
  }
  return lines.join('\n');
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
