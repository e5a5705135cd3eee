// The world of netns-journeys.e2e.test.ts: the real services, each on a host of its own
// (topology.ts), over the hub's three-node cluster and a leaf node per agency rendered from the
// templates compose uses (containerLayout), each service's database on the shared PostgreSQL
// reached over its own database link. What runs where:
// - n1, n2, n3: one nats-server each, the hub's cluster (R3 file streams);
// - fo: the foreign office of Mayen-Koblenz (services/foreign-office) and its leaf node;
// - hub: the Lotsenhaus (services/lotsenhaus), a client of the cluster as in compose (nats-1);
// - ms: Caritas Koblenz (services/migration-services) and its leaf node;
// - desk: the caseworkers' side, `pnpm scenario` (infra/network/src/scenario) driving journeys
//   over gRPC against the services' host names, with each agency's certificate.
// Every service runs its own main with the environment the launcher gives it, except that it
// listens on its host's address on the standard port and finds the others by host name.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventFlows } from '@lotse/flows';
import { createTestDatabase, openDatabase, type Database } from '@lotse/db';
import { natsServerBinary, type BrokerNetwork } from '@lotse/messaging';
import { DEV_PKI_ORGANISATION, ensureDevPki } from '@lotse/pki';
import { waitFor } from '@lotse/testing';
import { BROKER_CERTIFICATE } from '../../src/broker.js';
import { leafNodeConfig } from '../../src/nats-layout.js';
import { containerLayout } from '../../src/nats-layout-placement.js';
import { demoDeployments, hubAddressFor, peersFor, type Deployment } from '../../src/deployments.js';
import { repoRoot, serviceMain, telemetryPreload } from '../../src/paths.js';
import { startDatabaseProxy } from './database-proxy.js';
import { hostProcesses, startClusterNodes, type ClusterNodes } from './host-processes.js';
import { buildTopology, type Topology } from './topology.js';

/** The demo network's deployments that run here, by the key of their host, each on the standard port. */
const grpcPort = 50051;
const onHost = { fo: 'kv-mayen-koblenz', hub: 'lotsenhaus', ms: 'caritas-koblenz' } as const;
type Agency = Deployment & { key: keyof typeof onHost };
const all: Agency[] = Object.entries(onHost).map(([key, id]) => ({ ...demoDeployments(0).find((d) => d.id === id)!, grpcPort, key: key as keyof typeof onHost }));
export const agencies = Object.fromEntries(all.map((a) => [a.key, a])) as Record<keyof typeof onHost, Agency>;
/** Across hosts every deployment is reached by its id, the name its certificate and the hosts files carry. */
const byHostName = (d: Pick<Deployment, 'id' | 'grpcPort'>) => `${d.id}:${d.grpcPort}`;
const nodeNames = ['nats-1', 'nats-2', 'nats-3'];
const broker = { ...BROKER_CERTIFICATE, hostnames: ['nats', ...nodeNames] };
const network: BrokerNetwork = { deployments: all.map(({ id, agencyType }) => ({ id, agencyType })), hubId: agencies.hub.id, eventFlows: eventFlows(), organisation: DEV_PKI_ORGANISATION };

/**
 * The hub's directory with one migration counselling provider, the one that runs here: the
 * region's agreements, with Caritas Koblenz taking every municipality and age group, so that
 * every journey the scenario plans is routed to a deployment that answers.
 */
function directoryWithOneProvider(file: string): void {
  const directory = JSON.parse(readFileSync(join(repoRoot, 'services/lotsenhaus/src/directory/koblenz-region.json'), 'utf8'));
  const municipalities = directory.municipalities.map((m: { code: string }) => m.code);
  const caritas = directory.providers.find((p: { providerId: string }) => p.providerId === agencies.ms.id);
  directory.providers = [{ ...caritas, agreements: [{ ageGroups: ['youth', 'adult'], municipalities }] }, ...directory.providers.filter((p: { agencyType: string }) => p.agencyType === 'lotsenhaus')];
  writeFileSync(file, JSON.stringify(directory, null, 2));
}

export interface JourneyWorld extends ClusterNodes {
  topology: Topology;
  dir: string;
  db: Record<keyof typeof onHost, Database<any>>;
  /** The JSON of a server's monitoring endpoint, asked inside its own namespace. */
  monitor(key: string, path: string): any;
  /** Drops every packet between an agency's host and the cluster's nodes (its leaf's link), or lets them pass again. */
  cutBus(key: 'fo' | 'ms', cut: boolean): void;
  /** `pnpm scenario` on the desk host, its output in `<dir>/<log>.log`; resolves with its exit code and output. */
  scenario(args: string[], log: string): Promise<{ code: number | null; output: string }>;
  /** The last lines of every log, for a failure seen once. */
  logs(): string;
  close(): Promise<void>;
}

export async function startJourneyWorld(dir: string): Promise<JourneyWorld> {
  const topology = buildTopology(
    { n1: 1, n2: 2, n3: 3, hub: 10, fo: 11, ms: 12, desk: 20 },
    { 'nats-1': 'n1', 'nats-2': 'n2', 'nats-3': 'n3', ...Object.fromEntries(all.map((a) => [a.id, a.key])) },
    ['ms'],
  );
  const hosts = hostProcesses(topology, dir);
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    await hosts.stopAll(10_000);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    topology.remove();
  };
  const { spawnIn, monitor } = hosts;
  try {
    const pki = join(dir, 'pki');
    await ensureDevPki(pki, [...all, broker]);
    const layout = containerLayout({ network, broker, nodeNames, routeHosts: nodeNames, leafHubHosts: nodeNames, pki, storeDir: join(dir, 'js') });
    const nodes = await startClusterNodes(hosts, dir, layout.cluster);
    const binary = natsServerBinary()!;
    for (const leaf of layout.leaves) {
      const key = all.find((a) => a.id === leaf.agency.id)!.key;
      const file = join(dir, `${leaf.name}.conf`);
      writeFileSync(file, leafNodeConfig(leaf));
      spawnIn(key, [binary, '-c', file], `${leaf.name}.log`);
      await waitFor(() => (monitor(key, '/leafz')?.leafs?.length ?? 0) > 0, `${leaf.name} connected to the hub`, 30_000);
    }

    const directoryFile = join(dir, 'directory.json');
    directoryWithOneProvider(directoryFile);
    const db = {} as Record<keyof typeof onHost, Database<any>>;
    const started: Promise<void>[] = [];
    for (const agency of all) {
      const test = await createTestDatabase(`lotse_jw_${agency.key}`);
      cleanups.push(() => test.drop());
      // The test's own connection, for the accounting by direct SQL.
      const own = await openDatabase<any>({ url: test.url, dataDir: 'unused', poolSize: 2 });
      cleanups.push(() => own.close());
      db[agency.key] = own;
      const link = topology.databaseLink(agency.key);
      const proxy = await startDatabaseProxy(link.rootIp);
      cleanups.push(() => proxy.close());
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        [agency.idVariable]: agency.id,
        GRPC_HOST: '0.0.0.0',
        GRPC_PORT: String(grpcPort),
        DATABASE_URL: `postgres://postgres@${link.rootIp}:${proxy.port}/${test.name}`,
        DATA_DIR: join(dir, 'data', agency.id),
        // The foreign office and the provider talk to their own leaf node; the hub to the cluster.
        NATS_URL: agency.key === 'hub' ? 'tls://nats-1:4222' : 'tls://127.0.0.1:4222',
        NATS_STREAM_REPLICAS: '3',
        PKI_DIR: pki,
        LOTSE_HOME: dir,
        PEERS: peersFor(agency, all, byHostName),
        HUB_ADDRESS: hubAddressFor(all, byHostName),
        ...(agency.key === 'hub' && { DIRECTORY_FILE: directoryFile }),
        OTEL_SERVICE_NAME: agency.id,
        LOG_LEVEL: 'info',
      };
      const log = `${agency.id}.log`;
      spawnIn(agency.key, [process.execPath, '--import', 'tsx', '--import', telemetryPreload, serviceMain(agency.service)], log, env);
      started.push(waitFor(() => readFileSync(join(dir, log), 'utf8').includes('"msg":"ready"'), `${agency.id} ready`, 120_000).then(() => undefined));
    }
    await Promise.all(started);
    const networkFile = join(dir, 'network.json');
    writeFileSync(networkFile, JSON.stringify({ pki, deployments: all.map((a) => ({ id: a.id, agencyType: a.agencyType, grpc: byHostName(a), ready: true })) }, null, 2));

    const logs = ['nats-1', 'nats-2', 'nats-3', ...layout.leaves.map((l) => l.name), ...all.map((a) => a.id)];
    const scenarios: string[] = [];
    return {
      topology,
      dir,
      db,
      ...nodes,
      monitor,
      cutBus: (key, cut) => {
        for (const node of ['n1', 'n2', 'n3']) {
          const ip = topology.ip(node);
          for (const [chain, side] of [['INPUT', '-s'], ['OUTPUT', '-d']] as const) topology.exec(key, 'iptables', cut ? '-I' : '-D', chain, side, ip, '-j', 'DROP');
        }
      },
      scenario: (args, log) =>
        new Promise((resolve) => {
          scenarios.push(log);
          const child = spawnIn('desk', [process.execPath, '--import', 'tsx', join(repoRoot, 'infra/network/src/scenario/main.ts'), '--network', networkFile, ...args], `${log}.log`);
          child.once('exit', (code) => resolve({ code, output: readFileSync(join(dir, `${log}.log`), 'utf8') }));
        }),
      logs: () =>
        [...logs, ...scenarios.slice(-1)]
          .map((log) => {
            let tail: string[];
            try {
              tail = readFileSync(join(dir, `${log}.log`), 'utf8').trimEnd().split('\n').slice(-15);
            } catch {
              tail = ['(none)'];
            }
            return [`--- last lines of ${log}.log`, ...tail.map((l) => l.slice(0, 400))].join('\n');
          })
          .join('\n'),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
