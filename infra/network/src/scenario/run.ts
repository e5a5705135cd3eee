// One scenario run against a connected network: the journeys at the chosen rate and mix, a
// progress line, the accounting at the hub and the summary. `pnpm scenario` prints it; `pnpm
// bench` runs it several times and takes the latencies from the result instead of the text.
import { summarise } from '../bench/stats.js';
import { accountFor } from './journey-accounting.js';
import { planJourney, type Mix } from './journey-plan.js';
import type { JourneyRecord } from './journey-record.js';
import { JourneyRunner } from './journey-runner.js';
import { HubWatcher } from './hub-watcher.js';
import type { CallMeter } from './call-meter.js';
import { metering, retries, type ScenarioNetwork } from './network.js';
import { directoryMunicipalities } from './people.js';

export interface ScenarioOptions {
  journeys: number;
  rate: number;
  mix: Mix;
  seed: number;
  concurrency: number;
  runId: string;
  /** How long the accounting asks again for journeys not yet at the hub (default 60 s). */
  settleMs?: number;
  /**
   * Counts the journeys' gRPC calls while they are driven (not the accounting's reads); the
   * network's clients must have been connected with `metered: true` to count grpc-js's own retries.
   */
  meter?: CallMeter;
}

export interface ScenarioResult {
  journeys: number;
  accounted: number;
  missing: number;
  driveSeconds: number;
  /** Referral request → the hub's timeline entry, per journey that reached the hub. */
  latenciesMs: number[];
  /** Caseworker decision (accept, decline, completion) → the hub's timeline entry. */
  decisionLatenciesMs: number[];
  /** Calls repeated after UNAVAILABLE / deadline in this run. */
  retries: number;
}

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : '–');

export async function runScenario(net: ScenarioNetwork, o: ScenarioOptions, out: Output = process.stdout): Promise<ScenarioResult> {
  const retriesBefore = retries.count;
  const jobCentre = net.jobCentres.size > 0;
  const today = new Date();
  const municipalities = directoryMunicipalities();
  out.write(
    `scenario: ${o.journeys} journeys at ${o.rate}/s, seed ${o.seed}, run ${o.runId}; mix decline ${o.mix.decline}, revoke ${o.mix.revoke}, expire ${o.mix.expire}` +
      `${jobCentre ? `, job centre ${o.mix.jobcentre}` : ''}\n` +
      `network: ${net.migrationServices.size} migration services (${[...net.migrationServices.keys()].join(', ')}), ` +
      `${jobCentre ? `${net.jobCentres.size} job centres (${[...net.jobCentres.keys()].join(', ')})` : 'no job centre (journeys end with counselling)'}\n`,
  );

  const records: JourneyRecord[] = Array.from({ length: o.journeys }, (_, i) => ({
    plan: planJourney(o.seed, i, o.mix, municipalities, today),
    state: 'planned',
    atHub: false,
    providers: [],
    decisionLatenciesMs: [],
    skipped: [],
  }));
  const latencies: number[] = [];
  let atHub = 0;
  const watcher = new HubWatcher(net);
  watcher.start();
  const runner = new JourneyRunner(
    net,
    o.runId,
    today,
    {
      onAtHub(r) {
        atHub++;
        latencies.push(r.hubLatencyMs!);
      },
    },
    watcher,
  );

  // Progress: one line rewritten in place on a terminal, a line every few seconds otherwise.
  const t0 = Date.now();
  let started = 0;
  const tty = Boolean(out.isTTY);
  const progress = () => {
    const done = records.filter((r) => r.state === 'done').length;
    const failed = records.filter((r) => r.state === 'failed').length;
    const secs = (Date.now() - t0) / 1000;
    const p50 = latencies.length ? summarise(latencies.slice(-500)).p50 : NaN;
    const line = `${secs.toFixed(0).padStart(4)} s  started ${started}/${o.journeys}  at hub ${atHub}  completed ${done}  failed ${failed}  in flight ${started - done - failed}  rate ${(started / Math.max(secs, 0.001)).toFixed(1)}/s  hub p50 ${ms(p50)}`;
    out.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
  const ticker = setInterval(progress, tty ? 500 : 5000);

  // Start journeys on schedule, at most `concurrency` at a time.
  metering.meter = o.meter;
  let inFlight = 0;
  const waiters: (() => void)[] = [];
  const running: Promise<void>[] = [];
  for (const record of records) {
    const due = t0 + (record.plan.index * 1000) / o.rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    while (inFlight >= o.concurrency) await new Promise<void>((r) => waiters.push(r));
    inFlight++;
    started++;
    running.push(
      runner.run(record, { jobCentre }).finally(() => {
        watcher.forget(record.caseRef);
        inFlight--;
        waiters.shift()?.();
      }),
    );
  }
  await Promise.all(running);
  metering.meter = undefined;
  watcher.close();
  const driveSeconds = (Date.now() - t0) / 1000;
  progress();
  clearInterval(ticker);
  if (tty) out.write('\n');

  // Accounting: every journey's case at the hub, in the expected state with its steps. The
  // hub is eventually consistent; a case not there yet is asked again for a while.
  out.write('accounting for every journey at the hub…\n');
  const verdicts = new Map<JourneyRecord, { ok: boolean; why?: string }>();
  // A read that fails (a token renewal whose sign-in did not get through, say) leaves the journey
  // open to be asked again, instead of ending the whole run.
  const check = async (r: JourneyRecord) => {
    if (!r.caseRef) return verdicts.set(r, { ok: false, why: r.error ?? 'no case created' });
    try {
      verdicts.set(r, accountFor(r, await runner.timeline(r.caseRef)));
    } catch (error) {
      verdicts.set(r, { ok: false, why: `its case could not be read: ${error instanceof Error ? error.message : String(error)}` });
    }
  };
  const pool = async (items: JourneyRecord[]) => {
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => { while (next < items.length) await check(items[next++]!); }));
  };
  await pool(records);
  const settleUntil = Date.now() + (o.settleMs ?? 60_000);
  for (;;) {
    const open = records.filter((r) => !verdicts.get(r)!.ok && r.expectation);
    if (!open.length || Date.now() > settleUntil) break;
    await new Promise((r) => setTimeout(r, 1000));
    await pool(open);
  }

  // Summary.
  const outcomes = new Map<string, number>();
  const skipped = new Map<string, number>();
  const missing: JourneyRecord[] = [];
  for (const r of records) {
    const v = verdicts.get(r)!;
    if (v.ok) outcomes.set(r.expectation!.outcome, (outcomes.get(r.expectation!.outcome) ?? 0) + 1);
    else missing.push(r);
    for (const s of new Set(r.skipped)) skipped.set(s, (skipped.get(s) ?? 0) + 1);
  }
  const lat = summarise(latencies);
  const decisionLatencies = records.flatMap((r) => r.decisionLatenciesMs);
  const decisions = summarise(decisionLatencies);
  const withinSecond = decisionLatencies.filter((v) => v <= 1000).length;
  const accounted = records.length - missing.length;
  const origins = new Map<string, number>();
  for (const r of records) origins.set(r.plan.person.origin, (origins.get(r.plan.person.origin) ?? 0) + 1);
  out.write(`\noutcomes at the hub:\n`);
  for (const [k, n] of [...outcomes].sort((a, b) => b[1] - a[1])) out.write(`  ${String(n).padStart(6)}  ${k}\n`);
  if (skipped.size) {
    out.write(`steps skipped (RPC not in the running network yet):\n`);
    for (const [k, n] of skipped) out.write(`  ${String(n).padStart(6)}  ${k}\n`);
  }
  out.write(`newcomers by name origin: ${[...origins].map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
  out.write(
    `duration ${driveSeconds.toFixed(1)} s driving (${(o.journeys / driveSeconds).toFixed(1)} journeys/s started+finished), ${((Date.now() - t0) / 1000).toFixed(1)} s with accounting; ` +
      `referral → hub latency p50 ${ms(lat.p50)}, p90 ${ms(lat.p90)}, p99 ${ms(lat.p99)}, max ${ms(lat.max)} (n ${lat.n}); retries after UNAVAILABLE/deadline ${retries.count - retriesBefore}; hub steps streamed ${watcher.streamed}, case reads while waiting ${watcher.calls} (${(watcher.calls / Math.max(1, records.length)).toFixed(1)} per journey)\n`,
  );
  out.write(
    `caseworker decision → hub (accept, decline, completion; from the agency's answer to the hub's timeline entry): p50 ${ms(decisions.p50)}, p90 ${ms(decisions.p90)}, p99 ${ms(decisions.p99)}, max ${ms(decisions.max)} (n ${decisions.n}; ${withinSecond} within 1 s)\n`,
  );
  if (missing.length) {
    out.write(`not accounted for (${missing.length}):\n`);
    for (const r of missing.slice(0, 50)) {
      out.write(`  journey ${r.plan.index} (${r.plan.kind}) case ${r.caseRef ?? '–'} referral ${r.referralId ?? '–'} at ${r.providers.join(' → ') || '–'}: ${verdicts.get(r)!.why}\n`);
    }
    if (missing.length > 50) out.write(`  … and ${missing.length - 50} more\n`);
  }
  out.write(`accounted at the hub: ${accounted}/${records.length} journeys${missing.length ? ` — ${missing.length} NOT accounted for` : ''}\n`);
  return { journeys: records.length, accounted, missing: missing.length, driveSeconds, latenciesMs: latencies, decisionLatenciesMs: decisionLatencies, retries: retries.count - retriesBefore };
}

