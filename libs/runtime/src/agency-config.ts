import { join } from 'node:path';
import { agencyId, integer, oneOf, optionalString, type Env } from '@lotse/config';
import { statementTracingModes, type DatabaseConfig } from '@lotse/db';

/** What every agency deployment needs to run; a service's own config extends it. */
export interface AgencyConfig {
  agencyId: string;
  agencyType: string;
  grpc: { host: string; port: number };
  database: DatabaseConfig;
  natsUrl: string;
  /** Replicas of the agency's stream when this deployment creates it: 1, or 3 on the hub's NATS cluster. */
  streamReplicas?: number;
  /** Folder with ca.crt and <agencyId>.crt/.key (the launcher's development CA creates them). */
  pkiDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * The OpenID issuer whose access tokens say which person a call acts for (OIDC_ISSUER,
   * OIDC_AUDIENCE). Set, every RPC whose matrix row names `people` needs a verified token.
   * A token bound to a client certificate (RFC 8705 `cnf.x5t#S256`) is taken only over that
   * certificate; OIDC_CERT_BOUND_TOKENS=required refuses unbound tokens too (the demo network's
   * issuer binds every token), `optional` (default) takes them, as a foreign IdP may not bind.
   */
  oidc?: { issuer: string; audience: string; certificateBoundTokens: 'required' | 'optional' };
  /**
   * Whether consumed events must be signed (EVENT_SIGNATURES). Default: required on a tls:// broker
   * (the network's), optional on plain nats:// (the shared anonymous test broker). A signature that
   * is there is checked either way.
   */
  eventSignatures?: 'required' | 'optional';
}

export function agencyConfig(env: Env, options: { agencyType: string; idVariable?: string; defaultId?: string; defaultPort: number }): AgencyConfig {
  const id = agencyId(env, options.idVariable ?? 'AGENCY_ID', options.defaultId);
  const home = optionalString(env, 'LOTSE_HOME', '.lotse')!;
  return {
    agencyId: id,
    agencyType: options.agencyType,
    grpc: { host: optionalString(env, 'GRPC_HOST', '127.0.0.1')!, port: integer(env, 'GRPC_PORT', options.defaultPort, { min: 0, max: 65535 }) },
    database: {
      url: optionalString(env, 'DATABASE_URL'),
      dataDir: optionalString(env, 'DATA_DIR', join(home, 'data', id))!,
      // Spans for SQL statements: all, slow (failed or ≥ LOTSE_SLOW_SQL_MS, default 20) or off.
      traceStatements: oneOf(env, 'LOTSE_TRACE_SQL', statementTracingModes, 'slow'),
      slowStatementMs: integer(env, 'LOTSE_SLOW_SQL_MS', 20, { min: 0 }),
    },
    natsUrl: optionalString(env, 'NATS_URL', 'nats://127.0.0.1:4222')!,
    streamReplicas: integer(env, 'NATS_STREAM_REPLICAS', 1, { min: 1, max: 5 }),
    pkiDir: optionalString(env, 'PKI_DIR', join(home, 'pki'))!,
    ...(env.EVENT_SIGNATURES !== undefined && { eventSignatures: oneOf(env, 'EVENT_SIGNATURES', ['required', 'optional'] as const, 'required') }),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    ...oidcConfig(env),
  };
}

function oidcConfig(env: Env): Pick<AgencyConfig, 'oidc'> {
  const issuer = optionalString(env, 'OIDC_ISSUER');
  if (!issuer) return {};
  if (!/^https?:\/\/[^/]+/.test(issuer)) throw new Error(`OIDC_ISSUER must be the issuer's http(s) URL, got "${issuer}"`);
  return {
    oidc: {
      issuer,
      audience: optionalString(env, 'OIDC_AUDIENCE', 'urn:lotse:network')!,
      certificateBoundTokens: oneOf(env, 'OIDC_CERT_BOUND_TOKENS', ['required', 'optional'] as const, 'optional'),
    },
  };
}
