// `pnpm scenario`: drives realistic journeys against a running network (`pnpm start`) at a chosen
// rate and mix, shows a progress line, and at the end accounts for every journey at the hub.
//
//   pnpm scenario --journeys 1000 --rate 20 [--mix decline=0.1,revoke=0.05,expire=0.02,jobcentre=0.5]
//                 [--network .lotse/network.json] [--pki <dir>] [--seed N] [--concurrency 300]
//
// Exit code 0 when every journey is found at the hub as expected, 1 otherwise, 2 on bad usage.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { summarise } from '../bench/stats.js';
import { repoRoot } from '../paths.js';
import { accountFor, JourneyRunner, planJourney, type JourneyRecord, type Mix } from './journey.js';
import { HubWatcher } from './hub-watcher.js';
import { connectNetwork, retries } from './network.js';
import { directoryMunicipalities } from './people.js';

class Usage extends Error {}

interface Options {
  journeys: number;
  rate: number;
  mix: Mix;
  network: string;
  pki: string | undefined;
  seed: number;
  concurrency: number;
  runId: string;
}

const usage = 'usage: pnpm scenario --journeys N --rate R [--mix decline=0.1,revoke=0.05,expire=0.02,jobcentre=0.5] [--network network.json] [--pki dir] [--seed N] [--concurrency N] [--run-id id]';

function parseArgs(argv: string[]): Options {
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const path = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const home = process.env.LOTSE_HOME ? path(process.env.LOTSE_HOME) : join(repoRoot, '.lotse');
  const o: Options = {
    journeys: 100,
    rate: 20,
    mix: { decline: 0.1, revoke: 0.05, expire: 0.02, jobcentre: 0.5 },
    network: join(home, 'network.json'),
    pki: undefined,
    seed: Date.now() % 1_000_000,
    concurrency: 300,
    runId: '',
  };
  const number = (flag: string, v: string | undefined, min: number, max: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new Usage(`${flag} takes a number from ${min} to ${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--':
        break;
      case '--journeys':
        o.journeys = Math.floor(number(flag, value(), 1, 1_000_000));
        break;
      case '--rate':
        o.rate = number(flag, value(), 0.01, 10_000);
        break;
      case '--seed':
        o.seed = Math.floor(number(flag, value(), 0, 2 ** 32 - 1));
        break;
      case '--concurrency':
        o.concurrency = Math.floor(number(flag, value(), 1, 10_000));
        break;
      case '--network':
        o.network = path(value() ?? '');
        break;
      case '--pki':
        o.pki = path(value() ?? '');
        break;
      case '--run-id': {
        const id = value() ?? '';
        if (!/^[A-Za-z0-9._-]{1,40}$/.test(id)) throw new Usage('--run-id takes 1 to 40 letters, digits or . _ -');
        o.runId = id;
        break;
      }
      case '--mix':
        for (const part of (value() ?? '').split(',').filter(Boolean)) {
          const [key, share] = part.split('=');
          if (!key || !(key in o.mix)) throw new Usage(`--mix: unknown part "${key}" (decline, revoke, expire, jobcentre)`);
          o.mix[key as keyof Mix] = number(`--mix ${key}`, share, 0, 1);
        }
        if (o.mix.decline + o.mix.revoke + o.mix.expire > 1) throw new Usage('--mix: decline + revoke + expire must not exceed 1');
        break;
      case '--help':
      case '-h':
        throw new Usage(usage);
      default:
        throw new Usage(`unknown option ${flag}\n${usage}`);
    }
  }
  // Request ids are unique per run; the journeys themselves follow from the seed alone.
  o.runId ||= `scn${o.seed}-${Date.now().toString(36)}`;
  return o;
}

const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : '–');

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.network)) throw new Usage(`${o.network} does not exist: start the network first (pnpm start), or pass --network`);
  const net = await connectNetwork(o.network, o.pki);
  const jobCentre = net.jobCentres.size > 0;
  const today = new Date();
  const municipalities = directoryMunicipalities();
  const out = process.stdout;
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
  watcher.close();
  const driveSeconds = (Date.now() - t0) / 1000;
  progress();
  clearInterval(ticker);
  if (tty) out.write('\n');

  // Accounting: every journey's case at the hub, in the expected state with its steps. The
  // hub is eventually consistent; a case not there yet is asked again for a while.
  out.write('accounting for every journey at the hub…\n');
  const verdicts = new Map<JourneyRecord, { ok: boolean; why?: string }>();
  const check = async (r: JourneyRecord) => verdicts.set(r, r.caseRef ? accountFor(r, await runner.timeline(r.caseRef)) : { ok: false, why: r.error ?? 'no case created' });
  const pool = async (items: JourneyRecord[]) => {
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => { while (next < items.length) await check(items[next++]!); }));
  };
  await pool(records);
  const settleUntil = Date.now() + 60_000;
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
      `referral → hub latency p50 ${ms(lat.p50)}, p90 ${ms(lat.p90)}, p99 ${ms(lat.p99)}, max ${ms(lat.max)} (n ${lat.n}); retries after UNAVAILABLE/deadline ${retries.count}; hub steps streamed ${watcher.streamed}, case reads while waiting ${watcher.calls} (${(watcher.calls / Math.max(1, records.length)).toFixed(1)} per journey)\n`,
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
  net.close();
  process.exitCode = missing.length ? 1 : 0;
}

main().catch((error) => {
  if (error instanceof Usage) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`scenario failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
});
