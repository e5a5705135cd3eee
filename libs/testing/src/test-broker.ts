import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { brokerConfig, checkNatsConfig, connectNats, type BrokerNetwork, type NatsClients, type NatsServerProcess, startNatsServer } from '@lotse/messaging';
import { DEV_PKI_ORGANISATION, ensureDevPki, loadIdentity, readRevocations, type TlsIdentity } from '@lotse/pki';

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

/** The message folders of every stream in a nats-server store. */
function streamMessageDirs(store: string): string[] {
  const jetstream = join(store, 'jetstream');
  if (!existsSync(jetstream)) return [];
  return readdirSync(jetstream).flatMap((account) => {
    const streams = join(jetstream, account, 'streams');
    return existsSync(streams) ? readdirSync(streams).map((stream) => join(streams, stream, 'msgs')).filter((dir) => existsSync(dir)) : [];
  });
}

/**
 * A nats-server of the test's own, on a free port with its store in a temporary folder, so a
 * test can wipe or replace the broker without touching the shared one on 4222.
 */
export interface TestBroker {
  url: string;
  /** With `network`: the folder with ca.crt and a certificate per deployment (and nats.crt). */
  pkiDir?: string;
  /** With `network`: the generated configuration the server runs with. */
  configFile?: string;
  logFile: string;
  /** With `network`: a deployment's certificate, as its service presents it. */
  identity(id: string): TlsIdentity;
  /** With `network`: a connection as the deployment `id` (its certificate, its inbox). */
  connectAs(id: string): Promise<NatsClients>;
  /** kill -9, as a crash; the store stays as it was. */
  kill(): Promise<void>;
  /** Starts again on the same port: on the same store, or (`fresh`) on an empty new one. */
  start(options?: { fresh?: boolean }): Promise<void>;
  /** kill -9, delete the store, start again empty on the same port: a broker that forgot. */
  wipe(): Promise<void>;
  /** kill -9, copy the store aside (as a crash left it), start again on it. */
  saveStore(): Promise<void>;
  /**
   * kill -9, put the saved copy back, start on it: acknowledged writes since the copy are gone.
   * `messagesOnly`: only the streams' messages go back; the durables keep the positions they had
   * reached since, so they stand beyond the stream's last message (what a replica that lagged and
   * then led leaves behind in a cluster).
   */
  restoreStore(options?: { messagesOnly?: boolean }): Promise<void>;
  /**
   * With `network`: writes the configuration again without the deployments revoked in the PKI's
   * revoked.json and has the running server reload it (SIGHUP), as the launcher does.
   */
  applyRevocations(): Promise<void>;
  /** Stops the server and deletes every store it used. */
  cleanup(): Promise<void>;
}

export interface TestBrokerOptions {
  /**
   * Authenticated, as in the network: a development CA in the broker's folder issues a
   * certificate per deployment (and observer), and the server runs with brokerConfig(network) —
   * users from certificate subjects, permissions from the flow table. Without it: anonymous.
   */
  network?: Omit<BrokerNetwork, 'organisation'>;
}

export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'lotse-broker-'));
  let pkiDir: string | undefined;
  let configFile: string | undefined;
  if (options.network) {
    pkiDir = join(root, 'pki');
    const members = [...options.network.deployments, ...(options.network.observers ?? [])];
    await ensureDevPki(pkiDir, [...members.map((d) => ({ id: d.id, agencyType: d.agencyType })), { id: 'nats', agencyType: 'broker' }]);
    configFile = join(root, 'nats-server.conf');
    writeConfig();
  }
  function writeConfig(): void {
    if (!options.network || !pkiDir || !configFile) throw new Error('startTestBroker: only with the `network` option');
    const revoked = Object.keys(readRevocations(pkiDir).deployments);
    writeFileSync(
      configFile,
      brokerConfig(
        { ...options.network, organisation: DEV_PKI_ORGANISATION, revoked },
        { certFile: join(pkiDir, 'nats.crt'), keyFile: join(pkiDir, 'nats.key'), caFile: join(pkiDir, 'ca.crt') },
      ),
    );
    const complaint = checkNatsConfig(configFile);
    if (complaint) throw new Error(`generated broker config does not load: ${complaint}`);
  }
  const logFile = join(root, 'nats-server.log');
  const identity = (id: string) => {
    if (!pkiDir) throw new Error('startTestBroker: identities exist only with the `network` option');
    return loadIdentity(pkiDir, id);
  };
  let generation = 0;
  let storeDir = join(root, 'store-0');
  const saved = join(root, 'saved-store');
  let server: NatsServerProcess | undefined;
  const start = async (options: { fresh?: boolean } = {}) => {
    if (options.fresh) storeDir = join(root, `store-${++generation}`);
    server = await startNatsServer({ port, storeDir, logFile, ...(configFile ? { configFile } : {}) });
  };
  await start();
  const kill = async () => {
    await server?.kill();
    server = undefined;
  };
  const url = `${configFile ? 'tls' : 'nats'}://127.0.0.1:${port}`;
  return {
    url,
    ...(pkiDir ? { pkiDir } : {}),
    ...(configFile ? { configFile } : {}),
    logFile,
    identity,
    connectAs: (id) => connectNats({ servers: url, name: id, tls: identity(id) }),
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
    async restoreStore({ messagesOnly = false } = {}) {
      await kill();
      if (messagesOnly) {
        // <store>/jetstream/<account>/streams/<stream>/msgs: each stream's message blocks.
        for (const dir of streamMessageDirs(saved)) {
          const live = join(storeDir, relative(saved, dir));
          rmSync(live, { recursive: true, force: true });
          cpSync(dir, live, { recursive: true });
        }
      } else {
        rmSync(storeDir, { recursive: true, force: true });
        cpSync(saved, storeDir, { recursive: true });
      }
      await start();
    },
    async applyRevocations() {
      writeConfig();
      server?.reload();
    },
    async cleanup() {
      await server?.stop();
      server = undefined;
      rmSync(root, { recursive: true, force: true });
    },
  };
}
