// End to end: the scenario generator (`pnpm scenario`) against a network started as the README
// does, on the real PostgreSQL (one database per deployment) and a real nats-server. Every
// journey it drives must be accounted for at the hub.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNetwork, startNetworkOnPostgres, type NetworkOnPostgres } from '../src/network-process.js';
import { repoRoot } from '../src/paths.js';


let setup: NetworkOnPostgres;
let network: RunningNetwork;
let home: string;

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
  ({ network, home } = setup);
}, 300_000);

afterAll(async () => {
  await setup?.remove();
}, 60_000);

function runScenario(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['--silent', 'scenario', ...args], { cwd: repoRoot, env: { ...process.env, LOTSE_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('the scenario generator', () => {
  it('drives 40 journeys at 10 per second and accounts for every one at the hub', async () => {
    const { code, output } = await runScenario(['--journeys', '40', '--rate', '10', '--seed', '1', '--network', join(home, 'network.json'), '--pki', join(home, 'pki')]);
    expect(output, output).toMatch(/accounted at the hub: 40\/40 journeys\n/);
    expect(code, output).toBe(0);
    // People sign in on the default network: the journeys' calls act for demo staff.
    expect(output).toMatch(/demo staff: [1-9]\d* accounts signed in before the first journey/);
    // The mix shows up: progress lines while it ran, and more than one outcome in the summary.
    expect(output).toMatch(/started \d+\/40 {2}at hub \d+ {2}completed \d+ {2}failed 0/);
    expect(output).toMatch(/ {2}counselling started\n/);
    expect(output).toMatch(/referral → hub latency p50 \d+ ms/);
    // Caseworkers' decisions (accept, decline, completion) were seen at the hub and measured.
    const decisions = output.match(/caseworker decision → hub .*: p50 (\d+) ms.*\(n (\d+); (\d+) within 1 s\)/);
    expect(decisions, output).not.toBeNull();
    expect(Number(decisions![2])).toBeGreaterThan(0);
  }, 120_000);

  it('refuses bad usage with exit code 2', async () => {
    const { code, output } = await runScenario(['--journeys', 'many', '--network', join(home, 'network.json')]);
    expect(code).toBe(2);
    expect(output).toContain('--journeys takes a number');
  });
});
