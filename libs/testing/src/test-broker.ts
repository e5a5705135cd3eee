import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServerProcess } from '@lotse/messaging';

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

/**
 * A nats-server of the test's own, on a free port with its store in a temporary folder, so a
 * test can wipe or replace the broker without touching the shared one on 4222.
 */
export interface TestBroker {
  url: string;
  /** kill -9, as a crash; the store stays as it was. */
  kill(): Promise<void>;
  /** Starts again on the same port: on the same store, or (`fresh`) on an empty new one. */
  start(options?: { fresh?: boolean }): Promise<void>;
  /** kill -9, delete the store, start again empty on the same port: a broker that forgot. */
  wipe(): Promise<void>;
  /** kill -9, copy the store aside (as a crash left it), start again on it. */
  saveStore(): Promise<void>;
  /** kill -9, put the saved copy back, start on it: acknowledged writes since the copy are gone. */
  restoreStore(): Promise<void>;
  /** Stops the server and deletes every store it used. */
  cleanup(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'lotse-broker-'));
  let generation = 0;
  let storeDir = join(root, 'store-0');
  const saved = join(root, 'saved-store');
  let server: NatsServerProcess | undefined;
  const start = async (options: { fresh?: boolean } = {}) => {
    if (options.fresh) storeDir = join(root, `store-${++generation}`);
    server = await startNatsServer({ port, storeDir, logFile: join(root, 'nats-server.log') });
  };
  await start();
  const kill = async () => {
    await server?.kill();
    server = undefined;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    start,
    async wipe() {
      await kill();
      rmSync(storeDir, { recursive: true, force: true });
      await start();
    },
    async saveStore() {
      await kill();
      rmSync(saved, { recursive: true, force: true });
      cpSync(storeDir, saved, { recursive: true });
      await start();
    },
    async restoreStore() {
      await kill();
      rmSync(storeDir, { recursive: true, force: true });
      cpSync(saved, storeDir, { recursive: true });
      await start();
    },
    async cleanup() {
      await server?.stop();
      server = undefined;
      rmSync(root, { recursive: true, force: true });
    },
  };
}
