// One measured scenario run of the bench: the journeys at a rate, with the CPU time of every
// launched process across it, the peak resident memory, and the latencies the scenario measured.
import type { RunningNetwork } from '../network-process.js';
import type { CallMeter } from '../scenario/call-meter.js';
import type { ScenarioNetwork } from '../scenario/network.js';
import { runScenario, type ScenarioResult } from '../scenario/run.js';
import { launched, launcherPid, rssMiB } from './launched-processes.js';
import { summarise, type Summary } from './stats.js';

/** One line of the bench's output. */
export const say = (line: string) => process.stdout.write(line + '\n');
/**
 * The scenario's own summary lines, indented, so the bench's figures stand out: its progress and
 * outcome table are left out, and of the journeys not accounted for the first three are shown.
 */
function scenarioOut() {
  let listed = 0;
  return {
    write(text: string) {
      for (const line of text.split('\n')) {
        const keep = /^(duration|caseworker|accounted|not accounted)/.test(line) || (/^ {2}journey /.test(line) && listed++ < 3);
        if (keep) process.stdout.write(`    | ${line}\n`);
      }
    },
  };
}

export interface Measured {
  /** CPU ms per top-level process (a deployment with its tsx/esbuild helper, the console, nats-server). */
  perProcess: Map<string, number>;
  rate: number;
  result: ScenarioResult;
  cpuMs: number;
  hub: Summary;
  decision: Summary;
  peakRssMiB: number;
}

export async function measure(network: RunningNetwork, net: ScenarioNetwork, rate: number, journeys: number, label: string, seed: number, meter?: CallMeter): Promise<Measured> {
  const launcher = launcherPid(network);
  const before = new Map(launched(launcher).map((s) => [s.pid, s.cpuMs]));
  let peakRssMiB = 0;
  const sampler = setInterval(() => (peakRssMiB = Math.max(peakRssMiB, rssMiB(launched(launcher).map((s) => s.pid)))), 1000);
  say(`\n${label}: ${journeys} journeys at ${rate}/s`);
  // Sign-ins run in this process and the launcher's issuer, neither of which is measured; a
  // deployment's CPU includes verifying every token, as it would in production.
  const signInsBefore = net.staff?.signIns ?? 0;
  const result = await runScenario(net, { journeys, rate, mix: { decline: 0.1, revoke: 0.05, expire: 0.02, jobcentre: 0.5 }, seed, concurrency: 300, runId: `bench-${label.replace(/\W+/g, '-')}-${Date.now().toString(36)}`, settleMs: 20_000, meter }, scenarioOut());
  clearInterval(sampler);
  if (net.staff) say(`    | demo staff: ${net.staff.signIns - signInsBefore} renewed sign-ins during the run (tokens of 300 s, renewed 60 s before they expire)`);
  const after = launched(launcher);
  // A process that was not there before (a restart) counts from zero; restarts are reported.
  const cpuMs = after.reduce((sum, s) => sum + s.cpuMs - (before.get(s.pid) ?? 0), 0);
  // Each process under the launcher's direct child it descends from, named by network.json.
  const file = network.network() as unknown as { deployments: { id: string; pid: number | null }[]; console?: { id: string; pid: number | null } };
  const names = new Map<number, string>([...file.deployments, ...(file.console ? [file.console] : [])].filter((d) => d.pid !== null).map((d) => [d.pid!, d.id]));
  const byPid = new Map(after.map((s) => [s.pid, s]));
  const perProcess = new Map<string, number>();
  for (const s of after) {
    let top = s;
    while (top.ppid !== launcher && byPid.has(top.ppid)) top = byPid.get(top.ppid)!;
    const name = names.get(top.pid) ?? top.comm;
    perProcess.set(name, (perProcess.get(name) ?? 0) + s.cpuMs - (before.get(s.pid) ?? 0));
  }
  return { perProcess, rate, result, cpuMs, hub: summarise(result.latenciesMs), decision: summarise(result.decisionLatenciesMs), peakRssMiB };
}
