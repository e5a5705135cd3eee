// `pnpm scenario`: drives realistic journeys against a running network (`pnpm start`) at a chosen
// rate and mix, shows a progress line, and at the end accounts for every journey at the hub.
//
//   pnpm scenario --journeys 1000 --rate 20 [--mix decline=0.1,revoke=0.05,expire=0.02,jobcentre=0.5]
//                 [--network .lotse/network.json] [--pki <dir>] [--seed N] [--concurrency 300]
//
// Exit code 0 when every journey is found at the hub as expected, 1 otherwise, 2 on bad usage.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { repoRoot } from '../paths.js';
import type { Mix } from './journey-plan.js';
import { connectNetwork } from './network.js';
import { runScenario } from './run.js';

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

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.network)) throw new Usage(`${o.network} does not exist: start the network first (pnpm start), or pass --network`);
  const net = await connectNetwork(o.network, o.pki);
  try {
    const signedIn = net.staff?.signIns ?? 0;
    const result = await runScenario(net, o);
    if (net.staff) process.stdout.write(`demo staff: ${signedIn} accounts signed in before the first journey, ${net.staff.signIns - signedIn} renewals during the run\n`);
    process.exitCode = result.missing ? 1 : 0;
  } finally {
    net.close();
  }
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
