// `pnpm bench [--quick] [--journeys N] [--warmup N] [--step-seconds S] [--max-rate R]`
//
// Starts the network as `pnpm start` does (embedded default: PGlite per deployment, a spawned
// nats-server, telemetry to the console; free ports, a temporary LOTSE_HOME) and measures, in one
// run, with the scenario generator's own code (scenario/run.ts):
//   - CPU per journey of the whole network: utime+stime from /proc of every process the launcher
//     started (deployments, console, nats-server) across a `--journeys N --rate 10` run after a
//     warm-up, divided by the journeys;
//   - referral → hub and decision → hub p50/p99 at 10 and at 20 journeys/s;
//   - the knee: the highest rate (10, 20, 30, …) at which referral → hub p99 stays under 1 s;
//   - resident memory (sum of VmRSS) idle after start-up and the peak under load;
//   - an overload step at twice the knee (2 × 10/s when the knee is below 10/s) for a knee step's
//     duration: the scenario's gRPC calls made and accepted, the refused attempts and their share,
//     and p50/p99 of the accepted calls (client-side), against a p99 target of 2 s;
// and, in the same run, two raw baselines written without Lotse code (baselines.ts): a bare
// PGlite + outbox + JetStream + applied-event hop at 100 events/s, and one mTLS gRPC unary call. It
// prints each figure beside them with the ratios, and writes test-artifacts/bench.json.
//
// On a machine shared with other work every figure is noisy; the ratios, measured minutes apart
// in the same run, are the steadier ones.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newNetworkHome, removeHome, startNetworkOnFreePorts, sleep } from '../network-process.js';
import { repoRoot } from '../paths.js';
import { connectNetwork, type ScenarioNetwork } from '../scenario/network.js';
import { CallMeter } from '../scenario/call-meter.js';
import { runScenario } from '../scenario/run.js';
import { baseline, type GrpcResult, type HopResult } from './baseline-process.js';
import { parseArgs, Usage } from './bench-options.js';
import { launched, launcherPid, restarts, rssMiB } from './launched-processes.js';
import { measure, say, type Measured } from './measure.js';
import { summarise, type Summary } from './stats.js';

const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '–');
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
const times = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(1)}×` : '–');

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const commit = await new Promise<string>((resolve) => {
    const git = spawn('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot });
    let out = '';
    git.stdout.on('data', (c) => (out += c));
    git.once('exit', () => resolve(out.trim() || 'unknown'));
  });
  const dirty = await new Promise<boolean>((resolve) => {
    const git = spawn('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot });
    let out = '';
    git.stdout.on('data', (c) => (out += c));
    git.once('exit', () => resolve(out.trim().length > 0));
  });
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  say(`pnpm bench${o.quick ? ' --quick' : ''} at ${commit}${dirty ? ' (with uncommitted changes)' : ''}, ${new Date().toISOString()}, load average ${load} on ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? '?'} cores`);
  say(`options: warm-up ${o.warmup} journeys, CPU run ${o.journeys} journeys at 10/s, knee steps of ${o.stepSeconds} s up to ${o.maxRate}/s, baselines ${o.baselineSeconds} s each`);

  const home = newNetworkHome();
  const startedAt = performance.now();
  const { network } = await startNetworkOnFreePorts(home, { DATABASE_URL: '', NATS_URL: '' });
  say(`network up in ${((performance.now() - startedAt) / 1000).toFixed(1)} s (first start, fresh data folders, embedded databases)`);
  let net: ScenarioNetwork | undefined;
  let keepLogs = false;
  try {
    net = await connectNetwork(join(home, 'network.json'), undefined, { metered: true });
    if (net.staff) say(`demo staff signed in before measuring: ${net.staff.signIns} accounts (every journey's calls act for one of them)`);
    const launcher = launcherPid(network);
    // Idle: after start-up has settled (migrations, demo data, the console's first polls).
    await sleep(10_000);
    // What the network burns with no journey at all (polls, heartbeats, metric exports, the
    // relays' stream checks): at 10 journeys/s, a tenth of it per second lands on each journey.
    const idleBefore = new Map(launched(launcher).map((s) => [s.pid, s.cpuMs]));
    const idleStarted = performance.now();
    await sleep(10_000);
    const processes = launched(launcher);
    const idleCpuMsPerSecond = (processes.reduce((sum, s) => sum + s.cpuMs - (idleBefore.get(s.pid) ?? s.cpuMs), 0) * 1000) / (performance.now() - idleStarted);
    const idleRss = rssMiB(processes.map((s) => s.pid));
    say(`processes the launcher started: ${processes.length} (${[...new Set(processes.map((s) => s.comm))].join(', ')}); idle resident memory ${f0(idleRss)} MiB; idle CPU ${f0(idleCpuMsPerSecond)} ms per second`);

    say(`\nwarm-up: ${o.warmup} journeys at 10/s (not measured)`);
    await runScenario(net, { journeys: o.warmup, rate: 10, mix: { decline: 0.1, revoke: 0.05, expire: 0.02, jobcentre: 0.5 }, seed: 1, concurrency: 300, runId: `bench-warmup-${Date.now().toString(36)}`, settleMs: 20_000 }, { write: () => undefined });

    // Baselines in the same run, while the network is idle (its background work is noise in them).
    say(`\nbaselines (no Lotse code, each in a process of its own): bare hop at 100 events/s, mTLS gRPC unary at 100 calls/s, ${o.baselineSeconds} s each`);
    const limit = (o.baselineSeconds + 120) * 1000;
    const failed = (what: string) => (error: unknown) => {
      say(`  baseline ${what} failed; its figures and ratios are left out: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`);
      return undefined;
    };
    const hop: HopResult = (await baseline<HopResult>(['hop', String(o.baselineSeconds), '100'], limit).catch(failed('hop'))) ?? { events: 0, latenciesMs: [], cpuMsPerEvent: NaN, rssMiB: NaN };
    const grpc: GrpcResult = (await baseline<GrpcResult>(['grpc', String(o.baselineSeconds), '100', join(home, 'pki')], limit).catch(failed('grpc'))) ?? { calls: 0, latenciesMs: [], cpuMsPerCall: NaN };
    const hopLat = summarise(hop.latenciesMs);
    const grpcLat = summarise(grpc.latenciesMs);

    const at10 = await measure(network, net, 10, o.journeys, 'CPU run and latency at 10/s', 10);
    const at20 = await measure(network, net, 20, Math.max(o.journeys, 20 * o.stepSeconds), 'latency at 20/s', 20);

    // The knee: the first rate whose p99 is 1 s or more ends the search.
    const steps: Measured[] = [at10, at20];
    for (let rate = 30; rate <= o.maxRate && steps.every((s) => s.hub.p99 < 1000); rate += 10) {
      steps.push(await measure(network, net, rate, Math.round(rate * o.stepSeconds), `knee step ${rate}/s`, rate));
    }
    const under = steps.filter((s) => s.hub.p99 < 1000);
    const knee = under.length ? Math.max(...under.map((s) => s.rate)) : undefined;
    const over = steps.find((s) => s.hub.p99 >= 1000);
    // Overload: twice the knee, for a knee step's duration, counting the scenario's gRPC calls.
    const overloadRate = 2 * (knee ?? 10);
    const overloadBasis = knee === undefined ? 'knee below 10/s: 2 × 10/s' : `2 × the knee of ${knee}/s`;
    const meter = new CallMeter();
    const overload = await measure(network, net, overloadRate, Math.round(overloadRate * o.stepSeconds), `overload at ${overloadRate}/s (${overloadBasis})`, overloadRate + 1, meter);
    const calls = meter.counts();
    const overloadMet = calls.acceptedLatency.p99 < 2000;
    const peakRss = Math.max(...steps.map((s) => s.peakRssMiB));
    const cpuPerJourney = at10.cpuMs / at10.result.journeys;

    say('\n================ pnpm bench: results ================');
    say(`commit ${commit}${dirty ? ' + uncommitted changes' : ''}; machine shared with other work, load average now ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    say('');
    say(`${'CPU (ms of CPU time)'.padEnd(58)}${'value'.padStart(9)}${'÷ hop'.padStart(9)}${'÷ gRPC'.padStart(9)}`);
    // A journey that failed half-way did less work: the share accounted for says how far to trust a row.
    const accountedNote = (s: Measured) => `  ${s.result.accounted}/${s.result.journeys} accounted${s.result.missing ? ' (failed journeys did less work)' : ''}`;
    say(`${`journey, whole network (${at10.result.journeys} at 10/s after ${o.warmup} warm-up)`.padEnd(58)}${f1(cpuPerJourney).padStart(9)}${times(cpuPerJourney, hop.cpuMsPerEvent).padStart(9)}${times(cpuPerJourney, grpc.cpuMsPerCall).padStart(9)}${accountedNote(at10)}`);
    for (const s of steps.slice(1)) {
      say(`${`journey at ${s.rate}/s (${s.result.journeys} journeys)`.padEnd(58)}${f1(s.cpuMs / s.result.journeys).padStart(9)}${times(s.cpuMs / s.result.journeys, hop.cpuMsPerEvent).padStart(9)}${times(s.cpuMs / s.result.journeys, grpc.cpuMsPerCall).padStart(9)}${accountedNote(s)}`);
    }
    say(
      `  per process at 10/s (ms per journey; a deployment includes its tsx/esbuild helper): ` +
        [...at10.perProcess].sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${name} ${f1(ms / at10.result.journeys)}`).join(', '),
    );
    say(`${'  of which background (idle network CPU per s ÷ 10/s)'.padEnd(58)}${f1(idleCpuMsPerSecond / 10).padStart(9)}`);
    say(`${'baseline: bare hop (PGlite+outbox → JetStream → dedup)'.padEnd(58)}${f2(hop.cpuMsPerEvent).padStart(9)}`);
    say(`${'baseline: one mTLS gRPC unary call (client + server)'.padEnd(58)}${f2(grpc.cpuMsPerCall).padStart(9)}`);
    say('');
    say(`${'latency (ms)'.padEnd(44)}${'n'.padStart(6)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'p50÷hop'.padStart(9)}${'p99÷hop'.padStart(9)}`);
    const row = (name: string, s: Summary) =>
      say(`${name.padEnd(44)}${String(s.n).padStart(6)}${f0(s.p50).padStart(8)}${f0(s.p99).padStart(8)}${times(s.p50, hopLat.p50).padStart(9)}${times(s.p99, hopLat.p99).padStart(9)}`);
    for (const s of steps.slice(0, 2)) {
      row(`referral → hub at ${s.rate}/s`, s.hub);
      row(`decision → hub at ${s.rate}/s`, s.decision);
    }
    for (const s of steps.slice(2)) row(`referral → hub at ${s.rate}/s`, s.hub);
    say(`${'baseline: bare hop at 100/s'.padEnd(44)}${String(hopLat.n).padStart(6)}${f1(hopLat.p50).padStart(8)}${f1(hopLat.p99).padStart(8)}`);
    say(`${'baseline: mTLS gRPC unary at 100/s'.padEnd(44)}${String(grpcLat.n).padStart(6)}${f2(grpcLat.p50).padStart(8)}${f2(grpcLat.p99).padStart(8)}`);
    say('');
    say(
      `knee (highest rate with referral → hub p99 < 1 s, steps of 10/s): ${knee === undefined ? 'below 10/s' : `${knee}/s`}` +
        `${over ? ` (at ${over.rate}/s p99 was ${f0(over.hub.p99)} ms)` : ` (not reached up to ${o.maxRate}/s)`}`,
    );
    say(
      `overload at ${overloadRate}/s (${overloadBasis}), ${overload.result.journeys} journeys over ${o.stepSeconds} s: gRPC calls made ${calls.made}, accepted ${calls.accepted} (OK or a domain error), ` +
        `not answered ${calls.unanswered}; refused ${calls.refused} of ${calls.attempts} attempts (${f1(calls.refusedShare * 100)} %; RESOURCE_EXHAUSTED/UNAVAILABLE per attempt, grpc-js's own retries counted from grpc-previous-rpc-attempts); ` +
        `accepted calls p50 ${f0(calls.acceptedLatency.p50)} ms, p99 ${f0(calls.acceptedLatency.p99)} ms — p99 of accepted calls < 2 s: ${overloadMet ? 'met' : 'not met'}; ` +
        `journeys accounted ${overload.result.accounted}/${overload.result.journeys}`,
    );
    say(`resident memory, ${processes.length} processes: idle ${f0(idleRss)} MiB, peak under load ${f0(peakRss)} MiB; baseline hop process (2 PGlite + nats-server) ${f0(hop.rssMiB)} MiB (${times(idleRss, hop.rssMiB)} idle)`);
    const journeysRun = steps.reduce((n, s) => n + s.result.journeys, 0);
    const missing = steps.reduce((n, s) => n + s.result.missing, 0);
    // The database watch must never think the embedded database is away under load (it would pause consumers).
    const logs = readdirSync(join(home, 'logs')).map((f) => readFileSync(join(home, 'logs', f), 'utf8'));
    // The watch's NOT_SERVING, a consumer's pause and the relay's back-off each log a line of their own.
    const unreachable = logs.reduce((n, text) => n + (text.match(/database unreachable|consumer paused|relay: database unavailable/g)?.length ?? 0), 0);
    say(
      `journeys accounted at the hub: ${journeysRun - missing}/${journeysRun}; client retries after UNAVAILABLE/deadline ${steps.reduce((n, s) => n + s.result.retries, 0)}; ` +
        `process restarts ${restarts(network)}; database-away lines in the logs (watch, consumers, relay) ${unreachable}`,
    );

    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    writeFileSync(
      join(repoRoot, 'test-artifacts', 'bench.json'),
      JSON.stringify(
        {
          at: new Date().toISOString(),
          commit,
          dirty,
          options: o,
          cpuMsPerJourney: cpuPerJourney,
          steps: steps.map((s) => ({ rate: s.rate, journeys: s.result.journeys, missing: s.result.missing, cpuMsPerJourney: s.cpuMs / s.result.journeys, hub: s.hub, decision: s.decision, peakRssMiB: s.peakRssMiB, retries: s.result.retries })),
          knee,
          idleRssMiB: idleRss,
          idleCpuMsPerSecond,
          peakRssMiB: peakRss,
          overload: {
            rate: overloadRate,
            basis: overloadBasis,
            seconds: o.stepSeconds,
            journeys: overload.result.journeys,
            missing: overload.result.missing,
            calls,
            countedPerAttempt: "grpc-js's own retries read from grpc-previous-rpc-attempts; its transparent retries of streams that never reached a server are not counted",
            p99UnderTwoSeconds: overloadMet,
            statement: `p99 of accepted calls < 2 s: ${overloadMet ? 'met' : 'not met'}`,
            hub: overload.hub,
            retries: overload.result.retries,
          },
          baselines: { hop: { cpuMsPerEvent: hop.cpuMsPerEvent, latency: hopLat, rssMiB: hop.rssMiB }, grpc: { cpuMsPerCall: grpc.cpuMsPerCall, latency: grpcLat } },
        },
        null,
        2,
      ),
    );
    process.exitCode = missing || overload.result.missing ? 1 : 0;
    keepLogs = missing + overload.result.missing > 0;
  } finally {
    net?.close();
    // The launcher alone first: it stops each deployment with SIGTERM and waits for it, so every
    // process ends through its own shutdown (a V8 CPU profile, LOTSE_CPU_PROFILE_DIR, is written
    // only then). A SIGINT to the whole group ended the deployments, which do not handle SIGINT, at once.
    try {
      process.kill(launcherPid(network), 'SIGTERM');
      await network.waitForOutput(/stopped; data is kept/, 60_000);
    } catch {
      // gone already, or stuck: the interrupt below ends the group
    }
    await network.interrupt();
    // A journey not accounted for is traced in the deployments' logs (its case ref and referral id
    // are printed above): they outlive the temporary home, which goes as before.
    if (keepLogs) {
      const kept = join(repoRoot, 'test-artifacts', 'bench-logs');
      rmSync(kept, { recursive: true, force: true });
      cpSync(join(home, 'logs'), kept, { recursive: true });
      say(`logs of the network kept in ${kept}`);
    }
    removeHome(home);
  }
}

main().catch((error) => {
  if (error instanceof Usage) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
});
