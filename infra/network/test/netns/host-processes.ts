// The processes of a multi-host world (federation.ts, journey-world.ts): each started inside its
// host's namespace with its output in a log file of its own, and the hub's three cluster nodes,
// each on its host with a store of its own, killed and started again by the faults.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsServerBinary } from '@lotse/messaging';
import { waitFor } from '@lotse/testing';
import { clusterNodeConfig, type ClusterLayout, type ClusterNode } from '../../src/nats-layout.js';
import { repoRoot } from '../../src/paths.js';
import type { Topology } from './topology.js';

export const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

export interface HostProcesses {
  /** `command` on host `key`, its output appended to `<dir>/<log>`. */
  spawnIn(key: string, command: string[], log: string, env?: NodeJS.ProcessEnv): ChildProcess;
  /** The JSON of a server's monitoring endpoint (8222), asked inside its own namespace; undefined when it does not answer. */
  monitor(key: string, path: string): any;
  /** SIGTERM to every process still running, SIGKILL to those still running after `graceMs`. */
  stopAll(graceMs: number): Promise<void>;
}

export function hostProcesses(topology: Topology, dir: string): HostProcesses {
  const children: ChildProcess[] = [];
  return {
    spawnIn: (key, command, log, env = process.env) => {
      const fd = openSync(join(dir, log), 'a');
      // `ip netns exec` execs the command: the child's pid is the process's own, so kill -9 reaches it.
      const child = spawn('ip', ['netns', 'exec', topology.ns(key), ...command], { stdio: ['ignore', fd, fd], cwd: repoRoot, env });
      closeSync(fd);
      children.push(child);
      return child;
    },
    monitor: (key, path) => {
      try {
        return JSON.parse(topology.exec(key, 'curl', '-sf', '--max-time', '2', `http://${topology.ip(key)}:8222${path}`));
      } catch {
        return undefined;
      }
    },
    stopAll: async (graceMs) => {
      for (const c of children) if (running(c)) c.kill('SIGTERM');
      await Promise.all(children.map((c) => (running(c) ? Promise.race([new Promise((r) => c.once('exit', r)), new Promise((r) => setTimeout(r, graceMs))]) : undefined)));
      for (const c of children) if (running(c)) c.kill('SIGKILL');
    },
  };
}

export interface ClusterNodes {
  /** Host key (n1…n3) by server name (nats-1…), and back. */
  keyOf(node: string): string;
  nodeOf(key: string): string;
  startNode(name: string): void;
  /** kill -9; resolves when it is gone. */
  killNode(name: string): Promise<void>;
  /** A node's JetStream store (its own folder). */
  storeOf(name: string): string;
}

/**
 * Starts the cluster's nodes on hosts n1…n3, each with a store of its own under `<dir>/js` (here
 * the nodes share a disk, in compose each has its own volume), and waits until each is healthy.
 * `config` renders a node's file (clusterNodeConfig, or one with a test's own users added).
 */
export async function startClusterNodes(
  hosts: HostProcesses,
  dir: string,
  layout: ClusterLayout,
  config: (cluster: ClusterLayout, node: ClusterNode) => string = clusterNodeConfig,
): Promise<ClusterNodes> {
  const cluster = { ...layout, nodes: layout.nodes.map((n) => ({ ...n, storeDir: join(dir, 'js', n.name) })) };
  const names = cluster.nodes.map((n) => n.name);
  const binary = natsServerBinary()!;
  const servers = new Map<string, ChildProcess>();
  const keyOf = (node: string) => `n${names.indexOf(node) + 1}`;
  const startNode = (name: string) => {
    const node = cluster.nodes.find((n) => n.name === name)!;
    const file = join(dir, `${name}.conf`);
    mkdirSync(node.storeDir, { recursive: true });
    writeFileSync(file, config(cluster, node));
    servers.set(name, hosts.spawnIn(keyOf(name), [binary, '-c', file], `${name}.log`));
  };
  for (const name of names) startNode(name);
  for (const name of names) await waitFor(() => hosts.monitor(keyOf(name), '/healthz')?.status === 'ok', `${name} healthy`, 30_000);
  return {
    keyOf,
    nodeOf: (key) => names[Number(key.slice(1)) - 1]!,
    startNode,
    killNode: async (name) => {
      const server = servers.get(name)!;
      if (!running(server)) return;
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGKILL');
      await gone;
    },
    storeOf: (name) => cluster.nodes.find((n) => n.name === name)!.storeDir,
  };
}
