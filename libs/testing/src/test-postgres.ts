import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A PostgreSQL server of the test's own (initdb into a temporary folder, a free port, its socket
 * in that folder), so a test can stop it hard and start it again without touching the shared
 * server on 5432 that every other suite uses.
 */
export interface TestPostgres {
  /** Connection string of the `postgres` database (trust auth). */
  url: string;
  port: number;
  /** A new database on this server; returns its connection string. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m immediate`: like a crash or a pulled plug, no goodbye to the clients. */
  stopImmediate(): void;
  /** Starts it again on the same folder and port. */
  start(): void;
  /** Stops it (if running) and deletes its folder. */
  cleanup(): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return join('/usr/lib/postgresql', versions[0]!, 'bin');
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'lotse-pg-'));
  const dataDir = join(root, 'data');
  // PostgreSQL refuses to run as root; on machines where tests run as root, the server runs as
  // the `postgres` user that the Debian package created, in a folder that user owns.
  const asRoot = process.getuid?.() === 0;
  let uid = 0;
  let gid = 0;
  if (asRoot) {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(root, uid, gid);
    chmodSync(root, 0o700);
  }
  const run = (tool: string, args: string[]) => {
    const command = join(bin, tool);
    if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' });
    else execFileSync(command, args, { stdio: 'pipe' });
  };
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  let running = false;
  const start = () => {
    // -w: wait until it accepts connections. fsync off: the test is about connections, not disks.
    run('pg_ctl', ['-D', dataDir, '-w', '-l', join(root, 'server.log'), '-o', `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
    running = true;
  };
  start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    async createDatabase(name) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      return url.replace(/\/postgres$/, `/${name}`);
    },
    stopImmediate() {
      run('pg_ctl', ['-D', dataDir, '-w', '-m', 'immediate', 'stop']);
      running = false;
    },
    start,
    cleanup() {
      if (running) {
        try {
          run('pg_ctl', ['-D', dataDir, '-w', '-m', 'immediate', 'stop']);
        } catch {
          // Already gone; the folder is removed below either way.
        }
        running = false;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
