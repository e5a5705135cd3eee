// End to end: the README's "Try a referral" block, command by command as written, on the network
// `pnpm start` runs with nothing said about sign-in (here on the real PostgreSQL, so the test
// can count rows). Each command is spawned as `pnpm lotse …`, as a user types it, with only the
// test's network file and certificate folder added. Every mutating call is first made without
// the token `pnpm lotse login` kept (the file moved aside): UNAUTHENTICATED, and its deployment
// writes nothing. Then the same command, signed in, goes through.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { berlinDate } from '@lotse/grpc';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFile } from '../src/cli/login-command.js';
import { startNetworkOnPostgres, waitFor, type NetworkOnPostgres } from '../src/network-process.js';
import { repoRoot } from '../src/paths.js';

let setup: NetworkOnPostgres;

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
}, 300_000);

afterAll(async () => {
  await setup?.remove();
}, 60_000);

/** The README's walk-through: its first `sh` block after the heading, continuation lines joined, comments dropped. */
function walkThrough(): string[][] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /^## Try a referral$[\s\S]*?^```sh$\n([\s\S]*?)^```$/m.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no sh block under "## Try a referral"');
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.startsWith('pnpm lotse '))
    .map((line) => {
      const words: string[] = [];
      for (const [, quoted, plain] of line.matchAll(/'([^']*)'|(\S+)/g)) {
        if (plain?.startsWith('#')) break;
        words.push(quoted ?? plain!);
      }
      return words.slice(2);
    });
}

function lotse(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['--silent', 'lotse', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

/** What a deployment has recorded: a refused call must leave these as they were. */
async function recorded(deployment: string): Promise<Record<string, number>> {
  const db = new pg.Client({ connectionString: setup.databaseUrl(deployment) });
  await db.connect();
  try {
    const counts: Record<string, number> = {};
    for (const table of ['outbox', 'idempotency', 'audit_log']) counts[table] = (await db.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;
    return counts;
  } finally {
    await db.end();
  }
}

describe("the README's referral walk-through on the default network", () => {
  it('refuses every mutating call without a token and writes nothing; after pnpm lotse login each goes through', async () => {
    const networkFile = join(setup.home, 'network.json');
    const pki = join(setup.home, 'pki');
    const output = setup.network.output;
    expect(output).toContain('People sign in (OpenID issuer');
    expect(output).toContain('pnpm lotse login kv-mayen-koblenz --as caseworker.kv-mayen-koblenz');
    // The first demo newcomer of the banner, as the README says to take.
    const demo = /^\s+(\S+)\s+case (C-[0-9A-Z]+)\s+\(/m.exec(output)!;
    const values: Record<string, string> = { '<newcomer id>': demo[1]!, '<case ref>': demo[2]!, '<today>': berlinDate(new Date()) };
    const commands = walkThrough();
    expect(commands.map((c) => c[0])).toEqual(['login', 'call', 'call', 'login', 'call', 'call', 'call', 'call', 'list', 'describe']);

    const refused: string[] = [];
    for (const command of commands) {
      const args = command.map((word) => word.replace(/<[a-z ]+>/g, (placeholder) => values[placeholder] ?? placeholder));
      const withFiles = [...args, '--network', networkFile, ...(args[0] === 'login' ? [] : ['--pki', pki])];
      const method = args[0] === 'call' ? args[2]!.split('/')[1]! : '';
      if (args[0] === 'call' && /"requestId"/.test(args[3]!)) {
        const at = args[1]!;
        const kept = tokenFile(networkFile, at);
        expect(existsSync(kept)).toBe(true);
        renameSync(kept, `${kept}.aside`);
        const before = await recorded(at);
        const without = await lotse(withFiles);
        renameSync(`${kept}.aside`, kept);
        expect(without.code, `${method} without a token`).toBe(1);
        expect(without.err).toMatch(/ERROR UNAUTHENTICATED: this call acts for a person/);
        expect(await recorded(at)).toEqual(before);
        refused.push(method);
      }
      let result = await lotse(withFiles);
      // The hub has the referral once the provider received it: a user looks again until it shows.
      if (method === 'GetCaseTimeline') {
        await waitFor(async () => (result = await lotse(withFiles)).out.includes('"ReferralReceived"'), 30_000, 'the referral to reach the provider');
      }
      expect(result.err, args.join(' ')).toBe('');
      expect(result.code).toBe(0);
      if (method === 'RequestReferral') values['<referral id>'] = (JSON.parse(result.out) as { referral: { referralId: string } }).referral.referralId;
      if (method === 'ListReferrals') expect(result.out).toContain(values['<referral id>']);
      if (method === 'FetchNewcomerData') expect((JSON.parse(result.out) as { newcomer: { givenNames: string } }).newcomer.givenNames).toBe('محمد');
    }
    expect(refused).toEqual(['RequestReferral', 'AcceptReferral', 'FetchNewcomerData', 'RecordFirstContact']);
  }, 300_000);
});
