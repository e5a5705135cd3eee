// A network started the way the README says, as a child process: for the end-to-end tests and the benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type Client } from '@grpc/grpc-js';
import pg from 'pg';
import { createClient, type PromiseClient } from '@lotse/grpc';
import type { Role } from '@lotse/identity';
import { loadIdentity } from '@lotse/pki';
import { repoRoot } from './paths.js';
import type { NetworkSignIn } from './sign-in.js';
import { staffTokensOf, type StaffTokens } from './staff-tokens.js';

export interface NetworkFile {
  nats: string;
  pki: string;
  signIn?: NetworkSignIn;
  deployments: { id: string; agencyType: string; grpc: string; pid: number | null; ready: boolean; restarts: number; database: string; log: string }[];
  console: { id: string };
}

/**
 * The network started the way the README says (`pnpm start`), in a folder of its own, on ports of
 * its own. Ctrl-C is a SIGINT to the whole process group, as a terminal sends it.
 */
export class RunningNetwork {
  output = '';
  private exited: Promise<unknown>;

  constructor(
    readonly home: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout!.on('data', (chunk) => (this.output += chunk));
    child.stderr!.on('data', (chunk) => (this.output += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  network(): NetworkFile {
    return JSON.parse(readFileSync(join(this.home, 'network.json'), 'utf8'));
  }

  deployment(id: string) {
    const d = this.network().deployments.find((x) => x.id === id);
    if (!d) throw new Error(`no deployment ${id}`);
    return d;
  }

  private tokens: StaffTokens | undefined | null = null;

  /**
   * The network's demo staff, signed in as a test needs them (undefined with LOTSE_SIGN_IN=0).
   * One per network start: a restarted launcher has an issuer with new keys.
   */
  staff(): StaffTokens | undefined {
    if (this.tokens === null) this.tokens = staffTokensOf(this.network(), join(this.home, 'pki'));
    return this.tokens;
  }

  /**
   * A client of `deploymentId` presenting `asAgency`'s certificate. Where sign-in is on, each call
   * that acts for a person sends the token of `asAgency`'s demo `role` (or of the role the
   * matrix's row asks for, if it does not name that one), as a member of staff's client would.
   */
  client<C extends Client>(Ctor: any, deploymentId: string, asAgency = deploymentId, role?: Role): PromiseClient<C> {
    const client = createClient<C>(Ctor, this.deployment(deploymentId).grpc, loadIdentity(join(this.home, 'pki'), asAgency), { deadlineMs: 10_000, serverAgencyId: deploymentId });
    const staff = this.staff();
    return staff ? staff.signedIn(Ctor.service, client, asAgency, deploymentId, role) : client;
  }

  /** `authorization: Bearer` of `asAgency`'s demo `role` (none with sign-in off), for raw and streaming calls. */
  async bearer(asAgency: string, role: Role = 'caseworker', metadata = new Metadata()): Promise<Metadata> {
    const staff = this.staff();
    return staff ? staff.bearer(asAgency, role, metadata) : metadata;
  }

  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.child.exitCode !== null) throw new Error(`network exited (${this.child.exitCode}):\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${this.output}`);
      await sleep(200);
    }
  }

  /** kill -9 one deployment's process, as a crash would. */
  crash(deploymentId: string): number {
    const pid = this.deployment(deploymentId).pid;
    if (!pid) throw new Error(`${deploymentId} is not running`);
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  async waitUntilReady(deploymentId: string, notPid: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(() => {
      const d = this.deployment(deploymentId);
      return d.ready && d.pid !== null && d.pid !== notPid;
    }, timeoutMs, `${deploymentId} back after crash`);
  }

  /**
   * Ctrl-C. Resolves once the launcher said it stopped everything and no deployment process is
   * left; throws otherwise (pnpm itself ends by the signal, so its exit code says nothing).
   */
  async interrupt(timeoutMs = 30_000): Promise<void> {
    await this.stop(() => process.kill(-this.child.pid!, 'SIGINT'), 'Ctrl-C', timeoutMs);
  }

  /**
   * `kill <pid of pnpm>`: a SIGTERM to pnpm alone, as `timeout`, a process manager or a CI runner
   * sends it. Resolves and throws as interrupt() does.
   */
  async terminate(timeoutMs = 30_000): Promise<void> {
    await this.stop(() => process.kill(this.child.pid!, 'SIGTERM'), 'SIGTERM to pnpm', timeoutMs);
  }

  private async stop(signal: () => void, what: string, timeoutMs: number): Promise<void> {
    const pids = this.network().deployments.map((d) => d.pid).filter((p): p is number => p !== null);
    if (this.child.exitCode === null && this.child.signalCode === null) signal();
    const timer = setTimeout(() => this.killGroup(), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    const clean = this.output.includes('stopped; data is kept') && !alive.length;
    // Whatever outlived pnpm is still in its process group: end it, so a failed test leaves nothing behind.
    if (!clean) this.killGroup();
    if (alive.length) throw new Error(`processes still running after ${what}: ${alive.join(', ')}\n${this.output}`);
    if (!clean) throw new Error(`the launcher did not stop cleanly after ${what}:\n${this.output}`);
  }

  private killGroup(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function newNetworkHome(): string {
  return mkdtempSync(join(tmpdir(), 'lotse-e2e-'));
}

/**
 * Ports of their own, so a demo network on the default ports can keep running. Below the
 * kernel's ephemeral range (32768 and up on Linux): ports there are handed to outgoing
 * connections and to servers that ask for port 0 — the tests' own brokers and databases —, and a
 * fresh-clone CI run once found its chosen NATS port taken that way.
 */
export function freePorts(): { portBase: number; natsPort: number } {
  const portBase = 20_000 + Math.floor(Math.random() * 127) * 100;
  return { portBase, natsPort: portBase + 99 };
}

export async function startNetwork(home: string, env: Record<string, string>, upTimeoutMs = 240_000): Promise<RunningNetwork> {
  const child = spawn('pnpm', ['start'], {
    cwd: repoRoot,
    env: { ...process.env, LOTSE_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const network = new RunningNetwork(home, child);
  try {
    await network.waitForOutput(/Lotse network is up/, upTimeoutMs);
  } catch (error) {
    // A network that did not come up must not keep running behind the failed test.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    throw error;
  }
  return network;
}

/** What the launcher prints when a port it needs is held (the broker's, or the issuer's pair). */
const PORT_TAKEN = /port \d+(?: or \d+)? is taken/;

/**
 * startNetwork on ports drawn by `draw` (freePorts). Another network on the machine — a second
 * CI run, another test file — may hold the ports drawn: the launcher says so and stops, and the
 * ports are drawn again. Returns the environment with the ports used, for a restart on the same.
 */
export async function startNetworkOnFreePorts(
  home: string,
  env: Record<string, string>,
  options: { upTimeoutMs?: number; draw?: () => { portBase: number; natsPort: number }; attempts?: number } = {},
): Promise<{ network: RunningNetwork; env: Record<string, string> }> {
  const { upTimeoutMs, draw = freePorts, attempts = 4 } = options;
  for (let attempt = 1; ; attempt++) {
    const { portBase, natsPort } = draw();
    const withPorts = { ...env, LOTSE_PORT_BASE: String(portBase), LOTSE_NATS_PORT: String(natsPort) };
    try {
      return { network: await startNetwork(home, withPorts, upTimeoutMs), env: withPorts };
    } catch (error) {
      if (attempt < attempts && PORT_TAKEN.test((error as Error).message)) continue;
      throw error;
    }
  }
}

export function removeHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/** Retries a call while the deployment is down — with the same request id, so it counts once. */
export async function retrying<T>(call: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const code = (error as { code?: number }).code;
      // 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED: the process is restarting.
      if ((code !== 14 && code !== 4) || Date.now() > deadline) throw error;
      await sleep(300);
    }
  }
}

/** A W3C traceparent with a fresh trace id, so a test knows which trace a call starts. */
export function traced(): { traceId: string; metadata: Metadata } {
  const hex = (n: number) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const traceId = hex(16);
  const metadata = new Metadata();
  metadata.set('traceparent', `00-${traceId}-${hex(8)}-01`);
  return { traceId, metadata };
}

/** The PostgreSQL server the end-to-end tests use (trust auth on these machines and in CI). */
export const postgresServer = 'postgres://postgres@127.0.0.1:5432';

export interface NetworkOnPostgres {
  network: RunningNetwork;
  home: string;
  /** Connection string of one deployment's own database. */
  databaseUrl(deploymentId: string): string;
  /** Ctrl-C, then drop every database of this network and its folder. */
  remove(): Promise<void>;
}

/**
 * `pnpm start` on the real PostgreSQL, on ports and databases of its own: each deployment gets
 * `<prefix>_<deployment>`, so several test files never share a database.
 */
export async function startNetworkOnPostgres(env: Record<string, string> = {}): Promise<NetworkOnPostgres> {
  const home = newNetworkHome();
  const prefix = `lotse_e2e_${Math.random().toString(16).slice(2, 8)}`;
  const remove = async () => {
    const admin = new pg.Client({ connectionString: `${postgresServer}/postgres` });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${prefix}_%`]);
      for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
    removeHome(home);
  };
  let network: RunningNetwork;
  try {
    ({ network } = await startNetworkOnFreePorts(home, { DATABASE_URL: `${postgresServer}/${prefix}`, ...env }));
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    network,
    home,
    databaseUrl: (id) => `${postgresServer}/${prefix}_${id.replace(/-/g, '_')}`,
    remove: async () => {
      await network.interrupt();
      await remove();
    },
  };
}
