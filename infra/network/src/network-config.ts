import { integer, oneOf, optionalString, type Env } from '@lotse/config';

export interface NetworkConfig {
  /** Folder for data, certificates, logs and the NATS store. */
  home: string;
  portBase: number;
  natsPort: number;
  /** An existing NATS server; otherwise a nats-server child is started. */
  natsUrl?: string;
  /**
   * 1: one nats-server (the default). 3: the hub's three-node cluster with a leaf node per agency
   * (nats-layout.ts) on ports LOTSE_NATS_PORT … LOTSE_NATS_PORT + 49, streams with 3 replicas.
   */
  natsCluster: 1 | 3;
  /** A PostgreSQL server; each deployment gets its own database on it. Otherwise PGlite per deployment. */
  databaseUrl?: string;
  demoData: boolean;
  /**
   * People sign in (the default): the launcher runs the embedded OpenID issuer on portBase + 40
   * and every deployment trusts it, so staff RPCs need `pnpm lotse login` first.
   * LOTSE_SIGN_IN=0 turns it off — certificates only, for development, never for real data.
   */
  signIn: boolean;
  /**
   * What the deployments do with access tokens not bound to a client certificate
   * (OIDC_CERT_BOUND_TOKENS, default `required`: the embedded issuer binds every token of the CLI).
   * `optional` is for a client that cannot exchange its code over mutual TLS yet.
   */
  certificateBoundTokens: 'required' | 'optional';
  /**
   * Run the deployments from their TypeScript sources through tsx (LOTSE_RUN_FROM_SOURCE=1), as
   * before the launcher bundled them; for comparing the two and for debugging with source lines.
   */
  runFromSource: boolean;
}

export function toNetworkConfig(env: Env): NetworkConfig {
  return {
    home: optionalString(env, 'LOTSE_HOME', '.lotse')!,
    portBase: integer(env, 'LOTSE_PORT_BASE', 50050, { min: 1024, max: 65000 }),
    natsPort: integer(env, 'LOTSE_NATS_PORT', 4223, { min: 1024, max: 65535 }),
    natsUrl: optionalString(env, 'NATS_URL'),
    natsCluster: oneOf(env, 'LOTSE_NATS_CLUSTER', ['1', '3'] as const, '1') === '3' ? 3 : 1,
    databaseUrl: optionalString(env, 'DATABASE_URL'),
    demoData: optionalString(env, 'LOTSE_DEMO_DATA', '1') !== '0',
    signIn: oneOf(env, 'LOTSE_SIGN_IN', ['0', '1'] as const, '1') === '1',
    certificateBoundTokens: oneOf(env, 'OIDC_CERT_BOUND_TOKENS', ['required', 'optional'] as const, 'required'),
    runFromSource: optionalString(env, 'LOTSE_RUN_FROM_SOURCE', '0') === '1',
  };
}
