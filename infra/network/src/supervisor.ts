import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ProcessSpec {
  id: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
}

export interface ProcessState {
  id: string;
  pid: number | undefined;
  ready: boolean;
  restarts: number;
  startedAt: Date | undefined;
}

interface Managed {
  spec: ProcessSpec;
  child?: ChildProcess;
  state: ProcessState;
  log: WriteStream;
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
}

/**
 * Runs each deployment as its own Node process, as it would run on its own machine. A process
 * that dies (a crash, kill -9) is started again with a growing pause; its durable consumers and
 * outbox pick up where it stopped. A service is ready when it logs its "ready" line.
 */
export class Supervisor {
  private readonly managed = new Map<string, Managed>();
  private stopping = false;

  constructor(private readonly hooks: { onChange(): void; say(line: string): void }) {}

  states(): ProcessState[] {
    return [...this.managed.values()].map((m) => ({ ...m.state }));
  }

  /** Starts a process and resolves once it is ready (or rejects with the end of its log). */
  start(spec: ProcessSpec, readyTimeoutMs = 240_000): Promise<void> {
    const managed: Managed = {
      spec,
      state: { id: spec.id, pid: undefined, ready: false, restarts: 0, startedAt: undefined },
      log: createWriteStream(spec.logFile, { flags: 'a' }),
      waiters: [],
    };
    this.managed.set(spec.id, managed);
    const ready = new Promise<void>((resolve, reject) => managed.waiters.push({ resolve, reject }));
    this.spawn(managed);
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      ready,
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${spec.id} was not ready within ${readyTimeoutMs / 1000} s\n${tail(spec.logFile)}`)), readyTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  private spawn(managed: Managed): void {
    const { spec } = managed;
    const child = spawn(process.execPath, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    managed.child = child;
    managed.state = { ...managed.state, pid: child.pid, ready: false, startedAt: new Date() };
    this.hooks.onChange();
    child.stderr!.pipe(managed.log, { end: false });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      managed.log.write(line + '\n');
      if (!managed.state.ready && line.includes('"msg":"ready"')) {
        managed.state.ready = true;
        this.hooks.onChange();
        for (const w of managed.waiters.splice(0)) w.resolve();
      }
    });
    child.once('exit', (code, signal) => {
      managed.state.ready = false;
      managed.state.pid = undefined;
      this.hooks.onChange();
      if (this.stopping) return;
      const firstStartFailed = managed.state.restarts === 0 && managed.waiters.length > 0;
      if (firstStartFailed && code !== null && code !== 0) {
        for (const w of managed.waiters.splice(0)) w.reject(new Error(`${spec.id} exited with code ${code} during start-up\n${tail(spec.logFile)}`));
        return;
      }
      managed.state.restarts += 1;
      const pause = Math.min(10_000, 500 * 2 ** Math.min(managed.state.restarts - 1, 5));
      this.hooks.say(`${spec.id} stopped (${signal ?? `exit code ${code}`}); starting it again in ${pause / 1000} s`);
      setTimeout(() => {
        if (this.stopping) return;
        managed.waiters.push({ resolve: () => this.hooks.say(`${spec.id} is back (restart ${managed.state.restarts})`), reject: () => undefined });
        this.spawn(managed);
      }, pause);
    });
  }

  /** SIGTERM to every process, SIGKILL to any still running after graceMs. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.managed.values()].map(async (m) => {
        const child = m.child;
        if (child && child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        m.log.end();
      }),
    );
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `  | ${l}`).join('\n');
  } catch {
    return '';
  }
}
