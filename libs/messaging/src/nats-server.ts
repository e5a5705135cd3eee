import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { connect } from 'node:net';

export class NatsServerMissingError extends Error {
  constructor() {
    super(
      'nats-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install nats-server`), ' +
        'or point NATS_URL at a running NATS server with JetStream.',
    );
  }
}

export function natsServerBinary(): string | undefined {
  for (const candidate of ['nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server']) {
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nats-server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export interface NatsServerProcess {
  url: string;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL at once, as a crash would; resolves when the process is gone. */
  kill(): Promise<void>;
  /**
   * SIGHUP: the server reads its configuration file again (users and permissions) without a
   * restart, and closes connections whose user is gone — how a revocation reaches the broker.
   */
  reload(): void;
}

/**
 * A nats-server child with JetStream and its store in `storeDir`: the network launcher's broker
 * (store kept in its home folder across restarts), and the broker tests start to wipe or replace.
 */
export async function startNatsServer(options: {
  port: number;
  storeDir: string;
  logFile: string;
  /**
   * A configuration file (brokerConfig: TLS, users from certificates, permissions). Address, port,
   * store and log still come from the options, which override the file. Without one the server
   * is anonymous: only for tests on a broker of their own that test no authorisation.
   */
  configFile?: string;
}): Promise<NatsServerProcess> {
  const binary = natsServerBinary();
  if (!binary) throw new NatsServerMissingError();
  mkdirSync(options.storeDir, { recursive: true });
  // Someone else's server on the port would pass the wait below, and clients would talk to it.
  if (await portOpen(options.port)) throw new Error(`port ${options.port} is taken: another server listens on 127.0.0.1:${options.port}`);
  // With a configuration, the store goes into a small wrapper file that includes it, not on the
  // command line: nats-server 2.9 refuses every reload (SIGHUP, how a revocation reaches it) with
  // "config reload not supported for jetstream storage dir" when -sd was given.
  let store = ['-js', '-sd', options.storeDir];
  let config: string[] = [];
  if (options.configFile) {
    const wrapper = join(dirname(options.configFile), `.${basename(options.configFile)}.run`);
    writeFileSync(wrapper, `include ${JSON.stringify(basename(options.configFile))}\njetstream { store_dir: ${JSON.stringify(resolve(options.storeDir))} }\n`);
    config = ['-c', wrapper];
    store = [];
  }
  const child = spawn(binary, [...config, '-a', '127.0.0.1', '-p', String(options.port), ...store, '-l', options.logFile], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    waitForPort(options.port, 15_000),
    exited.then(() => {
      throw new Error(`nats-server exited at start; see ${options.logFile} (is port ${options.port} taken?)`);
    }),
  ]);
  return {
    // A server with a configuration requires TLS (brokerConfig); the scheme tells clients so.
    url: `${options.configFile ? 'tls' : 'nats'}://127.0.0.1:${options.port}`,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    reload: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGHUP');
    },
  };
}

/**
 * `nats-server -t -c FILE`: whether this server version loads the file. Returns the server's
 * complaint, or undefined when the file is valid. `cwd`: where the file's relative paths (its
 * includes, certificate files) resolve; `env`: variables the file refers to (a pod's $POD_NAME).
 */
export function checkNatsConfig(file: string, options: { cwd?: string; env?: Record<string, string> } = {}): string | undefined {
  const binary = natsServerBinary();
  if (!binary) throw new NatsServerMissingError();
  const result = spawnSync(binary, ['-t', '-c', file], { encoding: 'utf8', cwd: options.cwd, env: { ...process.env, ...options.env } });
  return result.status === 0 ? undefined : `${result.stdout}${result.stderr}`.trim();
}
