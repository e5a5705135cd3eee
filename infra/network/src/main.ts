// `pnpm start`: the whole Lotse network on this machine — a nats-server with JetStream, one
// process per agency deployment with its own embedded database, demo data — until Ctrl-C.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfigOrExit, readEnv } from '@lotse/config';
import { createEmbeddedDatabases } from '@lotse/db/embedded';
import { ensureDevPki, loadIdentity, RevocationWatch } from '@lotse/pki';
import { consoleDeployment, demoDeployments } from './deployments.js';
import { seedDemoData } from './demo-data.js';
import { BROKER_CERTIFICATE, writeLauncherBrokerConfig } from './broker.js';
import { networkUpBanner } from './launcher-banner.js';
import { consoleEnv, deploymentEnv, type Launch } from './launcher-environments.js';
import { startLauncherCluster } from './nats-cluster.js';
import { toNetworkConfig } from './network-config.js';
import { NatsServerMissingError, startNatsServer } from '@lotse/messaging';
import { buildEntries, stopBuilding } from './build.js';
import { repoRoot, serviceMain, telemetryPreload } from './paths.js';
import { Supervisor } from './supervisor.js';
import { demoStaff, ISSUER_CERTIFICATE, startNetworkIssuer, type NetworkSignIn } from './sign-in.js';
import { StaffTokens } from './staff-tokens.js';
import { Metadata } from '@grpc/grpc-js';

const env = readEnv();
const config = loadConfigOrExit(toNetworkConfig, env);
const home = resolve(config.home);
const dirs = { pki: join(home, 'pki'), data: join(home, 'data'), logs: join(home, 'logs'), nats: join(home, 'nats') };
for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });

const say = (line: string) => process.stdout.write(`[lotse] ${line}\n`);
const started = performance.now();
const deployments = demoDeployments(config.portBase);
const operatorConsole = consoleDeployment(config.portBase);
const consoleUrl = `http://127.0.0.1:${operatorConsole.httpPort}`;
const databases = new Map<string, string>();

await ensureDevPki(dirs.pki, [...[...deployments, operatorConsole].map((d) => ({ id: d.id, agencyType: d.agencyType })), BROKER_CERTIFICATE, ISSUER_CERTIFICATE]);

let natsUrl = config.natsUrl;
let stopNats = async () => {};
// LOTSE_NATS_CLUSTER=3: the hub's cluster and a leaf node per agency; each deployment's NATS_URL.
let natsUrlFor = (_id: string) => natsUrl!;
let streamReplicas = 1;
if (!natsUrl && config.natsCluster === 3) {
  try {
    const cluster = await startLauncherCluster({ home, pkiDir: dirs.pki, logDir: dirs.logs, basePort: config.natsPort, deployments, operatorConsole });
    natsUrl = cluster.clusterUrl;
    natsUrlFor = cluster.urlFor;
    stopNats = cluster.stop;
    streamReplicas = 3;
  } catch (error) {
    process.stderr.write(`[lotse] ${(error as Error).message}\n`);
    process.exit(error instanceof NatsServerMissingError ? 69 : 1);
  }
} else if (!natsUrl) {
  try {
    // Users from the deployments' certificates, permissions from the flow table; rewritten on
    // every start so that it always matches the code.
    const configFile = join(home, 'nats-server.conf');
    writeLauncherBrokerConfig(configFile, dirs.pki, deployments, operatorConsole);
    const nats = await startNatsServer({ port: config.natsPort, storeDir: dirs.nats, logFile: join(dirs.logs, 'nats-server.log'), configFile });
    natsUrl = nats.url;
    // `pnpm lotse revoke`: within 5 s the broker has no user for a revoked deployment any more,
    // and the reload drops its connections (the deployments refuse its calls and events themselves).
    const revocations = new RevocationWatch(dirs.pki, {
      onError: (error) => say(`the revocation list does not load: ${(error as Error).message}`),
      onChange: (list) => {
        writeLauncherBrokerConfig(configFile, dirs.pki, deployments, operatorConsole);
        nats.reload();
        say(`revocation list changed (${Object.keys(list.deployments).join(', ') || 'no deployment'} revoked); broker reloaded`);
      },
    });
    stopNats = async () => {
      revocations.stop();
      await nats.stop();
    };
  } catch (error) {
    process.stderr.write(`[lotse] ${(error as Error).message}\n`);
    process.exit(error instanceof NatsServerMissingError ? 69 : 1);
  }
}

// People sign in (unless LOTSE_SIGN_IN=0): the embedded OpenID issuer, trusted by every deployment.
let signIn: NetworkSignIn | undefined;
let stopIssuer = async () => {};
if (config.signIn) {
  const port = config.portBase + 40;
  const mtls = { identity: loadIdentity(dirs.pki, ISSUER_CERTIFICATE.id), port: config.portBase + 41 };
  const running = await startNetworkIssuer(port, demoStaff(deployments, operatorConsole), consoleUrl, mtls).catch((error: NodeJS.ErrnoException) => {
    process.stderr.write(`[lotse] ${error.code === 'EADDRINUSE' ? `port ${port} or ${mtls.port} is taken: another server listens on 127.0.0.1 there (the OpenID issuer's)` : error.message}\n`);
    return stopNats().then(() => process.exit(1));
  });
  signIn = running.signIn;
  stopIssuer = running.issuer.stop;
}

// The console is no open door: an operator token for replay and discard (printed below, and in
// <home>/console-admin-token for scripts and tests), and one OTLP token per deployment, so the
// console takes telemetry only from the network's own processes. Fresh on every start.
const adminToken = randomBytes(24).toString('base64url');
const adminTokenFile = join(home, 'console-admin-token');
writeFileSync(adminTokenFile, adminToken + '\n', { mode: 0o600 });
const otlpTokens = new Map(deployments.map((d) => [d.id, randomBytes(24).toString('base64url')]));

// What the processes' environments and the banner below are made from.
const launch: Launch = {
  launcherEnv: process.env,
  config,
  home,
  dirs,
  deployments,
  operatorConsole,
  consoleUrl,
  natsUrl,
  natsUrlFor,
  streamReplicas,
  signIn,
  adminToken,
  otlpTokens,
  databases,
};

const supervisor = new Supervisor({ onChange: () => writeNetworkFile(), say });
const networkFile = join(home, 'network.json');

function writeNetworkFile(): void {
  const states = new Map(supervisor.states().map((s) => [s.id, s]));
  const body = {
    startedAt: new Date().toISOString(),
    launcherPid: process.pid,
    nats: natsUrl,
    pki: dirs.pki,
    ...(signIn && { signIn }),
    deployments: deployments.map((d) => ({
      id: d.id,
      service: d.service,
      agencyType: d.agencyType,
      name: d.name,
      grpc: `127.0.0.1:${d.grpcPort}`,
      database: databases.get(d.id) ?? `pglite:${join(dirs.data, d.id)}`,
      log: join(dirs.logs, `${d.id}.log`),
      pid: states.get(d.id)?.pid ?? null,
      ready: states.get(d.id)?.ready ?? false,
      restarts: states.get(d.id)?.restarts ?? 0,
    })),
    console: {
      id: operatorConsole.id,
      url: consoleUrl,
      database: databases.get(operatorConsole.id) ?? `pglite:${join(dirs.data, operatorConsole.id)}`,
      log: join(dirs.logs, `${operatorConsole.id}.log`),
      pid: states.get(operatorConsole.id)?.pid ?? null,
      ready: states.get(operatorConsole.id)?.ready ?? false,
      restarts: states.get(operatorConsole.id)?.restarts ?? 0,
    },
  };
  writeFileSync(networkFile + '.tmp', JSON.stringify(body, null, 2));
  // Rename is atomic: a reader (the CLI, a test) never sees half a file.
  renameSync(networkFile + '.tmp', networkFile);
}

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  say(`${signal}: stopping ${deployments.length} deployments, the console and NATS…`);
  // A process writing its CPU profile (a few MB of JSON) on a busy machine needs more than the
  // usual 10 s; killed, it writes none.
  await supervisor.stopAll(process.env.LOTSE_CPU_PROFILE_DIR ? 60_000 : 10_000);
  await stopIssuer();
  await stopNats();
  say('stopped; data is kept in ' + home);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

// A 16 MB young generation (semi-space): with 1 MB, scavenges took ~10% of every busy service's
// CPU under the scenario; 16 MB measured 146 → 133 ms CPU per journey across the network, for
// ~60 MB more resident per process (idle network 2.0 → 2.5 GB).
// LOTSE_CPU_PROFILE_DIR=<dir> writes a V8 CPU profile per process when the network stops (node
// refuses --cpu-prof in NODE_OPTIONS, so the launcher passes it).
const nodeArgs = ['--max-semi-space-size=16'];
if (process.env.LOTSE_CPU_PROFILE_DIR) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${resolve(process.env.LOTSE_CPU_PROFILE_DIR)}`);

/**
 * What `node` runs for the console and for each service: the bundles built at this start (see
 * build.ts), or the sources through tsx with LOTSE_RUN_FROM_SOURCE=1.
 */
async function programs(): Promise<{ console: string[]; service: (service: string) => string[] }> {
  if (config.runFromSource) {
    return {
      console: ['--import', 'tsx', serviceMain('console')],
      service: (service) => ['--import', 'tsx', '--import', telemetryPreload, serviceMain(service)],
    };
  }
  const services = [...new Set(deployments.map((d) => d.service)), 'console'];
  const built = await buildEntries(
    { telemetry: telemetryPreload, ...Object.fromEntries(services.map((s) => [s, serviceMain(s)])) },
    join(home, 'build'),
  );
  await stopBuilding();
  return {
    console: [built.console!],
    // --import takes a URL or a path relative to the working folder; an absolute path is both.
    service: (service) => ['--import', built.telemetry!, built[service]!],
  };
}

try {
  const run = await programs();
  // Embedded databases that do not exist yet: one initdb, copied for each (a first start used to
  // run eight side by side).
  if (!config.databaseUrl) await createEmbeddedDatabases([operatorConsole, ...deployments].map((d) => join(dirs.data, d.id)));
  // The console first: it receives the deployments' telemetry from their first span on.
  await supervisor.start({
    id: operatorConsole.id,
    args: [...nodeArgs, ...run.console],
    env: await consoleEnv(launch),
    cwd: repoRoot,
    logFile: join(dirs.logs, `${operatorConsole.id}.log`),
  });
  await Promise.all(
    deployments.map(async (d) =>
      supervisor.start({
        id: d.id,
        args: [...nodeArgs, ...run.service(d.service)],
        env: await deploymentEnv(launch, d),
        cwd: repoRoot,
        logFile: join(dirs.logs, `${d.id}.log`),
      }),
    ),
  );
} catch (error) {
  process.stderr.write(`[lotse] start-up failed: ${(error as Error).message}\n`);
  await supervisor.stopAll(3000);
  await stopIssuer();
  await stopNats();
  process.exit(1);
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
const fo = deployments.find((d) => d.service === 'foreign-office')!;
// With sign-in on, the demo data is entered by the foreign office's demo caseworker, so the audit
// trail names a member of staff as for any other registration.
const seedMetadata = signIn && config.demoData ? await new StaffTokens(signIn, new Map([[fo.id, fo.agencyType]]), dirs.pki).bearer(fo.id, 'caseworker') : new Metadata();
const seeded = config.demoData ? await seedDemoData({ id: fo.id, address: `127.0.0.1:${fo.grpcPort}` }, loadIdentity(dirs.pki, fo.id), seedMetadata) : [];
writeNetworkFile();


process.stdout.write(networkUpBanner(launch, { seconds, adminTokenFile, seeded, fo }));
