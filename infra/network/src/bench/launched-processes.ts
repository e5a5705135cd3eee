// What /proc tells of the processes the launcher started: their CPU time and resident memory, and
// from network.json the launcher's pid and how often its deployments restarted.
import { readdirSync, readFileSync } from 'node:fs';
import type { RunningNetwork } from '../network-process.js';

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  cpuMs: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 4, 14 and 15 of proc(5); clock ticks are 10 ms on Linux (CLK_TCK 100).
    return { pid, ppid: Number(f[1]), comm, cpuMs: (Number(f[11]) + Number(f[12])) * 10 };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every process the launcher started (and theirs): deployments, console, nats-server. */
export function launched(launcherPid: number): ProcStat[] {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readStat(Number(d)))
    .filter((s): s is ProcStat => s !== undefined);
  const children = new Map<number, ProcStat[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const out: ProcStat[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(launcherPid);
  return out;
}

export function rssMiB(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}

export function launcherPid(network: RunningNetwork): number {
  return (network.network() as unknown as { launcherPid: number }).launcherPid;
}

export function restarts(network: RunningNetwork): number {
  const file = network.network() as unknown as { deployments: { restarts: number }[]; console?: { restarts: number } };
  return file.deployments.reduce((n, d) => n + d.restarts, 0) + (file.console?.restarts ?? 0);
}
