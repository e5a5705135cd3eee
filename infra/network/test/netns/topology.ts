// The hosts of netns-federation.e2e.test.ts: network namespaces joined by veth pairs to a bridge in
// a switch namespace of their own (iproute2; the tests run as root here). Everything made here
// carries the run's random suffix, and remove() deletes it all, also after a failed start.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const wire = join(dirname(fileURLToPath(import.meta.url)), 'wire.py');

const run = (command: string, args: string[]) => execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export interface Topology {
  sfx: string;
  /** The namespace of a host by its key (e.g. n1, fo, hub). */
  ns(key: string): string;
  /** A host's address on the bus network. */
  ip(key: string): string;
  /** A command inside a host's namespace. */
  exec(key: string, command: string, ...args: string[]): string;
  /** Takes a host's cable out of the switch (down) or puts it back (up): no packet passes meanwhile. */
  cable(key: string, state: 'up' | 'down'): void;
  /**
   * A second link from a host to the root namespace, for its database only: the shared PostgreSQL
   * listens on 127.0.0.1 of the root namespace, which no namespace reaches. Returns the root
   * side's address (a proxy listens there) — cutting the bus cable leaves this link alone.
   */
  databaseLink(key: string): { rootIp: string; hostIp: string };
  /**
   * Puts a host's cable through wire.py (latency and loss in user space: no netem here) until
   * the returned function restores the plain cable. Only for hosts named in `slow`.
   */
  slowCable(key: string, delayMs: number, loss: number): Promise<() => Promise<void>>;
  remove(): void;
}

/** What the hosts are built and faulted with, by the Debian package that has it. */
const tools = { ip: 'iproute2', iptables: 'iptables', python3: 'python3', curl: 'curl' };

/**
 * Fails at the start, naming what to install, instead of at the first fault that needs a tool that
 * is missing (a fresh machine without iptables failed the minority partition minutes into the run).
 */
function requireTools(): void {
  const missing = Object.entries(tools).filter(([tool]) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(`the multi-host test needs ${missing.map(([t]) => t).join(', ')}: apt-get install ${missing.map(([, p]) => p).join(' ')}`);
  }
}

/** `hosts`: key → last octet on the bus network; `names`: host names every host resolves. */
export function buildTopology(hosts: Record<string, number>, names: Record<string, string>, slow: readonly string[] = []): Topology {
  requireTools();
  const sfx = randomBytes(2).toString('hex');
  const bus = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  const dbNet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}`;
  const sw = `lotse-${sfx}-sw`;
  const ns = (key: string) => `lotse-${sfx}-${key}`;
  const ip = (key: string) => `${bus}.${hosts[key]}`;
  const made: string[] = [];
  let dbLinks = 0;
  const wires = new Set<ChildProcess>();
  const exec = (key: string, command: string, ...args: string[]) => run('ip', ['netns', 'exec', ns(key), command, ...args]);
  const inSwitch = (...args: string[]) => run('ip', ['netns', 'exec', sw, 'ip', ...args]);
  const topology: Topology = {
    sfx,
    ns,
    ip,
    exec,
    cable: (key, state) => inSwitch('link', 'set', `p${sfx}${key}`, state),
    databaseLink: (key) => {
      const n = ++dbLinks * 4;
      const [rootIp, hostIp] = [`${dbNet}.${n + 1}`, `${dbNet}.${n + 2}`];
      const [outside, inside] = [`d${sfx}${key}`, `e${sfx}${key}`];
      run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
      run('ip', ['link', 'set', inside, 'netns', ns(key)]);
      run('ip', ['addr', 'add', `${rootIp}/30`, 'dev', outside]);
      run('ip', ['link', 'set', outside, 'up']);
      exec(key, 'ip', 'addr', 'add', `${hostIp}/30`, 'dev', inside);
      exec(key, 'ip', 'link', 'set', inside, 'up');
      return { rootIp, hostIp };
    },
    slowCable: async (key, delayMs, loss) => {
      if (!slow.includes(key)) throw new Error(`topology: ${key} has no slow cable`);
      // The host's port leaves the bridge; the wire carries its frames to a spare port on it.
      const [port, spare] = [`p${sfx}${key}`, `w${sfx}${key}`];
      inSwitch('link', 'set', port, 'nomaster');
      const child = spawn('ip', ['netns', 'exec', sw, 'python3', wire, 'carry', port, spare, String(delayMs), String(loss)], { stdio: ['ignore', 'pipe', 'inherit'] });
      wires.add(child);
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        void exited.then(() => reject(new Error('topology: wire.py exited at start')));
      });
      return async () => {
        child.kill('SIGKILL');
        await exited;
        wires.delete(child);
        inSwitch('link', 'set', port, 'master', 'br0');
      };
    },
    remove: () => {
      for (const child of wires) child.kill('SIGKILL');
      // Deleting a namespace deletes the veth ends in it, and with them their peers.
      for (const name of made.splice(0).reverse()) {
        try {
          run('ip', ['netns', 'del', name]);
        } catch {
          // Already gone.
        }
      }
      for (const key of Object.keys(hosts)) rmSync(`/etc/netns/${ns(key)}`, { recursive: true, force: true });
    },
  };
  try {
    run('ip', ['netns', 'add', sw]);
    made.push(sw);
    run('ip', ['netns', 'exec', sw, 'ip', 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['netns', 'exec', sw, 'ip', 'link', 'set', 'br0', 'up']);
    for (const key of Object.keys(hosts)) {
      run('ip', ['netns', 'add', ns(key)]);
      made.push(ns(key));
      const [inside, onBridge] = [`v${sfx}${key}`, `p${sfx}${key}`];
      run('ip', ['link', 'add', inside, 'type', 'veth', 'peer', 'name', onBridge]);
      run('ip', ['link', 'set', inside, 'netns', ns(key)]);
      run('ip', ['link', 'set', onBridge, 'netns', sw]);
      run('ip', ['netns', 'exec', sw, 'ip', 'link', 'set', onBridge, 'master', 'br0', 'up']);
      exec(key, 'ip', 'addr', 'add', `${ip(key)}/24`, 'dev', inside);
      exec(key, 'ip', 'link', 'set', inside, 'up');
      exec(key, 'ip', 'link', 'set', 'lo', 'up');
      exec(key, 'python3', wire, 'no-offload', inside);
      if (slow.includes(key)) {
        // The spare port the wire carries the host's frames to: on the bridge, and idle until then.
        inSwitch('link', 'add', `w${sfx}${key}`, 'type', 'veth', 'peer', 'name', `x${sfx}${key}`);
        inSwitch('link', 'set', `x${sfx}${key}`, 'master', 'br0', 'up');
        inSwitch('link', 'set', `w${sfx}${key}`, 'up');
      }
      // `ip netns exec` puts /etc/netns/<ns>/hosts over /etc/hosts: every host knows the others by
      // the names in their certificates, as it would by DNS.
      mkdirSync(`/etc/netns/${ns(key)}`, { recursive: true });
      writeFileSync(`/etc/netns/${ns(key)}/hosts`, ['127.0.0.1 localhost', ...Object.entries(names).map(([name, k]) => `${ip(k)} ${name}`), ''].join('\n'));
    }
  } catch (error) {
    topology.remove();
    throw error;
  }
  return topology;
}
