// The environment of each process `pnpm start` launches: what names the deployment, where its NATS,
// certificates and data are, and where its telemetry goes.
import { join } from 'node:path';
import { hubAddressFor, peersFor, watchedDeployments, type ConsoleDeployment, type Deployment } from './deployments.js';
import type { NetworkConfig } from './network-config.js';
import { ensureDeploymentDatabase } from './postgres-databases.js';
import { CONSOLE_CLIENT_ID, type NetworkSignIn } from './sign-in.js';

/** What the launcher has set up by the time it starts the processes. */
export interface Launch {
  /** The launcher's own environment (process.env), passed on to its processes. */
  launcherEnv: NodeJS.ProcessEnv;
  config: NetworkConfig;
  home: string;
  dirs: { pki: string; data: string };
  deployments: Deployment[];
  operatorConsole: ConsoleDeployment;
  consoleUrl: string;
  natsUrl: string | undefined;
  /** Each deployment's NATS_URL: the broker, or with LOTSE_NATS_CLUSTER=3 its own leaf node. */
  natsUrlFor(id: string): string;
  streamReplicas: number;
  signIn: NetworkSignIn | undefined;
  adminToken: string;
  otlpTokens: Map<string, string>;
  /** Each deployment's PostgreSQL database, filled in as they are made (network.json names them). */
  databases: Map<string, string>;
}

export async function deploymentEnv(launch: Launch, d: Deployment): Promise<NodeJS.ProcessEnv> {
  const { config, home, dirs, deployments, databases, signIn, consoleUrl, otlpTokens } = launch;
  // The launcher's environment passes through (a service's own settings, e.g. the hub's
  // REFERRAL_EXPIRY_MS); what names one deployment is set here for each.
  const childEnv: NodeJS.ProcessEnv = { ...launch.launcherEnv };
  delete childEnv.DATABASE_URL;
  delete childEnv.AGENCY_ID;
  delete childEnv.PROVIDER_ID;
  delete childEnv.JOB_CENTRE_ID;
  if (config.databaseUrl) {
    const url = await ensureDeploymentDatabase(config.databaseUrl, d.id);
    databases.set(d.id, url);
    childEnv.DATABASE_URL = url;
  }
  return {
    ...childEnv,
    [d.idVariable]: d.id,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(d.grpcPort),
    DATA_DIR: join(dirs.data, d.id),
    NATS_URL: launch.natsUrlFor(d.id),
    NATS_STREAM_REPLICAS: String(launch.streamReplicas),
    PKI_DIR: dirs.pki,
    LOTSE_HOME: home,
    PEERS: peersFor(d, deployments),
    HUB_ADDRESS: hubAddressFor(deployments),
    // The hub's read-only HSDS API of the partner directory, beside its gRPC port (the flyer's QR code).
    ...(d.service === 'lotsenhaus' && { HSDS_HTTP_PORT: String(d.grpcPort + 1) }),
    OTEL_SERVICE_NAME: d.id,
    // The embedded issuer binds every token it gives the CLI to the deployment's certificate, so
    // by default the deployments take no other (RFC 8705).
    ...(signIn && { OIDC_ISSUER: signIn.issuer, OIDC_AUDIENCE: signIn.audience, OIDC_CERT_BOUND_TOKENS: config.certificateBoundTokens }),
    // Every deployment sends its traces, logs and metrics to the console (OTLP/HTTP JSON), with
    // its own token (the standard exporter variable; values are URL-encoded).
    OTEL_EXPORTER_OTLP_ENDPOINT: consoleUrl,
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${otlpTokens.get(d.id)}`,
  };
}

export async function consoleEnv(launch: Launch): Promise<NodeJS.ProcessEnv> {
  const { config, home, dirs, deployments, operatorConsole, consoleUrl, databases, natsUrl, adminToken, otlpTokens, signIn } = launch;
  const childEnv: NodeJS.ProcessEnv = { ...launch.launcherEnv };
  for (const name of ['DATABASE_URL', 'AGENCY_ID', 'PROVIDER_ID', 'JOB_CENTRE_ID', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS']) delete childEnv[name];
  if (config.databaseUrl) {
    const url = await ensureDeploymentDatabase(config.databaseUrl, operatorConsole.id);
    databases.set(operatorConsole.id, url);
    childEnv.DATABASE_URL = url;
  }
  const hub = deployments.find((d) => d.service === 'lotsenhaus')!;
  return {
    ...childEnv,
    CONSOLE_ID: operatorConsole.id,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(operatorConsole.httpPort),
    DATA_DIR: join(dirs.data, operatorConsole.id),
    NATS_URL: natsUrl,
    PKI_DIR: dirs.pki,
    LOTSE_HOME: home,
    DEPLOYMENTS: watchedDeployments(deployments),
    HUB_ID: hub.id,
    ADMIN_TOKEN: adminToken,
    // With sign-in the console sends operators to the issuer's login page (the token above is then unused).
    ...(signIn && { OIDC_ISSUER: signIn.issuer, OIDC_AUDIENCE: signIn.audience, OIDC_CLIENT_ID: CONSOLE_CLIENT_ID, CONSOLE_URL: consoleUrl }),
    OTLP_TOKENS: [...otlpTokens].map(([id, token]) => `${id}=${token}`).join(','),
  };
}
