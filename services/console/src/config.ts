import { join } from 'node:path';
import { addressMap, agencyId, ConfigError, integer, oneOf, optionalString, type Env } from '@lotse/config';
import type { DatabaseConfig } from '@lotse/db';
import { parseTokens } from './http/auth.js';

export interface ConsoleConfig {
  /** The console's certificate id in PKI_DIR (agency type "operator"). */
  consoleId: string;
  http: { host: string; port: number };
  database: DatabaseConfig;
  /** Where JetStream state is read from; none means no stream and lag view. */
  natsUrl?: string;
  pkiDir: string;
  /** The agency deployments to watch: id → host:port of their gRPC (mTLS) server. */
  deployments: Map<string, string>;
  /** Which of them is the hub (case index and timeline). */
  hubId?: string;
  retention: {
    /** Spans, logs, metric points and samples older than this are deleted. */
    maxAgeHours: number;
    /** At most this many spans are kept; the oldest go first. */
    maxSpans: number;
    /** How often the retention job runs. */
    intervalMs: number;
  };
  /** How often JetStream, health and outbox state are sampled. */
  pollIntervalMs: number;
  /** ADMIN_TOKEN: the operator token for replay and discard; a random one is made at start if unset. Unused with signIn. */
  adminToken?: string;
  /**
   * OIDC_ISSUER (+ OIDC_AUDIENCE, OIDC_CLIENT_ID): people sign in at that issuer before they see
   * anything, and only the `operator` role may act. Unset: the operator token above.
   */
  signIn?: ConsoleSignInConfig;
  /** OTLP_TOKENS="id=token,…": who may send telemetry. Unset: the OTLP receiver accepts nothing. */
  otlpTokens: Map<string, string>;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface ConsoleSignInConfig {
  issuer: string;
  audience: string;
  clientId: string;
  /** CONSOLE_URL: the console's address as browsers reach it (the redirect URI is below it); default its own listening address. */
  publicUrl?: string;
}

export function toConfig(env: Env): ConsoleConfig {
  const consoleId = agencyId(env, 'CONSOLE_ID', 'console');
  const home = optionalString(env, 'LOTSE_HOME', '.lotse')!;
  const deployments = addressMap(env, 'DEPLOYMENTS');
  const hubId = optionalString(env, 'HUB_ID');
  if (hubId && !deployments.has(hubId)) throw new ConfigError('HUB_ID', `names "${hubId}", which is not in DEPLOYMENTS`);
  return {
    consoleId,
    http: { host: optionalString(env, 'HTTP_HOST', '127.0.0.1')!, port: integer(env, 'HTTP_PORT', 50080, { min: 0, max: 65535 }) },
    database: { url: optionalString(env, 'DATABASE_URL'), dataDir: optionalString(env, 'DATA_DIR', join(home, 'data', consoleId))! },
    natsUrl: optionalString(env, 'NATS_URL'),
    pkiDir: optionalString(env, 'PKI_DIR', join(home, 'pki'))!,
    deployments,
    hubId,
    retention: {
      maxAgeHours: integer(env, 'RETENTION_HOURS', 72, { min: 1, max: 24 * 365 }),
      maxSpans: integer(env, 'RETENTION_MAX_SPANS', 2_000_000, { min: 1000 }),
      intervalMs: integer(env, 'RETENTION_INTERVAL_SECONDS', 60, { min: 1 }) * 1000,
    },
    pollIntervalMs: integer(env, 'POLL_INTERVAL_SECONDS', 5, { min: 1, max: 3600 }) * 1000,
    adminToken: adminToken(env),
    ...signInConfig(env),
    otlpTokens: otlpTokens(env),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  };
}

function signInConfig(env: Env): Pick<ConsoleConfig, 'signIn'> {
  const issuer = optionalString(env, 'OIDC_ISSUER');
  if (!issuer) return {};
  if (!/^https?:\/\/[^/]+/.test(issuer)) throw new ConfigError('OIDC_ISSUER', `must be the issuer's http(s) URL, got "${issuer}"`);
  const publicUrl = optionalString(env, 'CONSOLE_URL')?.replace(/\/+$/, '');
  if (publicUrl !== undefined && !/^https?:\/\/[^/]+$/.test(publicUrl)) throw new ConfigError('CONSOLE_URL', `must be the console's http(s) origin without a path, got "${publicUrl}"`);
  return {
    signIn: {
      issuer,
      audience: optionalString(env, 'OIDC_AUDIENCE', 'urn:lotse:network')!,
      clientId: optionalString(env, 'OIDC_CLIENT_ID', 'lotse-console')!,
      ...(publicUrl && { publicUrl }),
    },
  };
}

function adminToken(env: Env): string | undefined {
  const token = optionalString(env, 'ADMIN_TOKEN');
  if (token !== undefined && token.length < 16) throw new ConfigError('ADMIN_TOKEN', 'must be at least 16 characters');
  return token;
}

function otlpTokens(env: Env): Map<string, string> {
  try {
    return parseTokens(optionalString(env, 'OTLP_TOKENS'));
  } catch (error) {
    throw new ConfigError('OTLP_TOKENS', (error as Error).message);
  }
}
