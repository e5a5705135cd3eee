// Runs one raw baseline (baselines.ts: no Lotse code) in a process of its own and reads its figures.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../paths.js';

export interface HopResult {
  events: number;
  latenciesMs: number[];
  cpuMsPerEvent: number;
  rssMiB: number;
}
export interface GrpcResult {
  calls: number;
  latenciesMs: number[];
  cpuMsPerCall: number;
}

export function baseline<T>(args: string[], timeoutMs: number): Promise<T> {
  const script = fileURLToPath(new URL('./baselines.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    // Its own process group, so that a hung one goes with its nats-server.
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    // A baseline that hangs (it has, on a machine with load 30) must not take the run with it.
    const timer = setTimeout(() => {
      err += `\n(killed after ${timeoutMs / 1000} s)`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as T);
      else reject(new Error(`baseline ${args[0]} failed (${code}):\n${err.slice(-2000)}`));
    });
  });
}
