// Starts the layout of nats-layout.ts on this host: three cluster nodes and a leaf node per agency,
// each a nats-server child with its rendered configuration. `pnpm start` with LOTSE_NATS_CLUSTER=3
// and the cluster tests use it. Unlike @lotse/messaging startNatsServer, nothing comes from the
// command line (a leaf must not get `-js`): the file is the whole configuration.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { NatsServerMissingError, natsServerBinary } from '@lotse/messaging';
import { readRevocations } from '@lotse/pki';
import { BROKER_CERTIFICATE, brokerNetwork } from './broker.js';
import type { ConsoleDeployment, Deployment } from './deployments.js';
import { clusterNodeConfig, leafNodeConfig, type ClusterLayout, type HostPort, type LeafNode } from './nats-layout.js';
import { loopbackLayout } from './nats-layout-placement.js';

export interface NatsNodeProcess {
  name: string;
  configFile: string;
  process: ChildProcess;
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; resolves when the process is gone. */
  kill(): Promise<void>;
  /** Starts the same node again (same configuration and store). */
  restart(): Promise<void>;
}

function portOpen({ host, port }: HostPort): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function spawnNode(name: string, configFile: string, logFile: string, listen: HostPort): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const binary = natsServerBinary();
  if (!binary) throw new NatsServerMissingError();
  // Someone else's server on the port would pass the wait below.
  if (await portOpen(listen)) throw new Error(`${name}: port ${listen.port} is taken on ${listen.host}`);
  const child = spawn(binary, ['-c', configFile, '-l', logFile], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 15_000;
  while (!(await portOpen(listen))) {
    if (gone) throw new Error(`${name} exited at start; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${listen.host}:${listen.port} within 15 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, exited };
}

/** A nats-server child that runs `configFile` and nothing else, once it listens on `listen`. */
export async function startNatsNode(name: string, configFile: string, logFile: string, listen: HostPort): Promise<NatsNodeProcess> {
  let current = await spawnNode(name, configFile, logFile, listen);
  const node: NatsNodeProcess = {
    name,
    configFile,
    process: current.child,
    stop: async () => {
      const { child, exited } = current;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    kill: async () => {
      const { child, exited } = current;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      await node.kill();
      current = await spawnNode(name, configFile, logFile, listen);
      node.process = current.child;
    },
  };
  return node;
}

/** /healthz answers 200 once the node's JetStream is current with the cluster's meta leader. */
async function waitHealthy(name: string, host: string, port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://${host}:${port}/healthz`);
      if (response.ok) return;
      last = await response.text();
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} was not healthy within ${timeoutMs} ms: ${last}`);
}

export interface RunningNatsCluster {
  layout: ReturnType<typeof loopbackLayout>;
  /** The first port of the hundred the layout uses (base+90…99 are free for a test's own). */
  basePort: number;
  nodes: NatsNodeProcess[];
  leaves: Map<string, NatsNodeProcess>;
  /** A cluster node's client URL (the client learns the others from it). */
  clusterUrl: string;
  /** NATS_URL for a deployment: its leaf node, or the cluster for the hub and the console. */
  urlFor(id: string): string;
  stop(): Promise<void>;
}

/** Writes every configuration into `dir` and starts the three nodes, then the leaf nodes. */
export async function startLoopbackCluster(options: Parameters<typeof loopbackLayout>[0] & { dir: string; logDir: string }): Promise<RunningNatsCluster> {
  const layout = loopbackLayout(options);
  mkdirSync(options.dir, { recursive: true });
  mkdirSync(options.logDir, { recursive: true });
  const started: NatsNodeProcess[] = [];
  const stopAll = async () => {
    await Promise.all(started.splice(0).reverse().map((n) => n.stop()));
  };
  try {
    const nodes = await Promise.all(layout.cluster.nodes.map((n) => startClusterNode(layout.cluster, n.name, options.dir, options.logDir)));
    started.push(...nodes);
    // Listening is not ready: until the nodes have met and elected JetStream's meta leader, every
    // stream request fails, and the services would create their streams at that very moment.
    await Promise.all(layout.cluster.nodes.map((n) => waitHealthy(n.name, n.client.host, n.httpPort!)));
    const leaves = new Map<string, NatsNodeProcess>();
    for (const leaf of await Promise.all(layout.leaves.map((l) => startLeaf(l, options.dir, options.logDir)))) {
      started.push(leaf);
      leaves.set(leaf.name.replace(/^leaf-/, ''), leaf);
    }
    return { layout, basePort: options.basePort, nodes, leaves, clusterUrl: layout.clientUrls[0]!, urlFor: layout.leafUrlOf, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export async function startClusterNode(cluster: ClusterLayout, name: string, dir: string, logDir: string): Promise<NatsNodeProcess> {
  const node = cluster.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node ${name} in cluster ${cluster.name}`);
  mkdirSync(node.storeDir, { recursive: true });
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, clusterNodeConfig(cluster, node));
  return startNatsNode(name, file, join(logDir, `${name}.log`), node.client);
}

export async function startLeaf(leaf: LeafNode, dir: string, logDir: string): Promise<NatsNodeProcess> {
  const file = join(dir, `${leaf.name}.conf`);
  writeFileSync(file, leafNodeConfig(leaf));
  return startNatsNode(leaf.name, file, join(logDir, `${leaf.name}.log`), leaf.client);
}

/** `pnpm start` with LOTSE_NATS_CLUSTER=3: the demo network's cluster and leaves under <home>/nats-cluster. */
export function startLauncherCluster(options: { home: string; pkiDir: string; logDir: string; basePort: number; deployments: readonly Deployment[]; operatorConsole: ConsoleDeployment }): Promise<RunningNatsCluster> {
  const root = join(options.home, 'nats-cluster');
  return startLoopbackCluster({
    basePort: options.basePort,
    // Kept across restarts, as the single node's store is.
    storeRoot: join(root, 'store'),
    pkiDir: options.pkiDir,
    // Revoked deployments (pnpm lotse revoke) get no user at start. Unlike the single broker, the
    // cluster is not yet rewritten and reloaded when the list changes: restart pnpm start.
    network: { ...brokerNetwork(options.deployments, options.operatorConsole), revoked: Object.keys(readRevocations(options.pkiDir).deployments) },
    broker: BROKER_CERTIFICATE,
    dir: join(root, 'conf'),
    logDir: options.logDir,
  });
}
