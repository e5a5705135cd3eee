import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { migrateToLatest, openDatabase, type Database } from '@lotse/db';
import { loadIdentity } from '@lotse/pki';
import type { ConsoleConfig } from './config.js';
import { consoleMigrations } from './db/migrations/index.js';
import type { ConsoleDb } from './db/schema.js';
import { registerApi } from './http/api.js';
import { Router } from './http/http-server.js';
import { LiveEvents } from './http/live-events.js';
import { signInAccess, tokenAccess } from './http/operator-access.js';
import { registerSignInRoutes, signInGate, type SignInDeps } from './http/sign-in-routes.js';
import { consoleLogger, type Logger } from './logger.js';
import { DeadLetters } from './operator/dead-letters.js';
import { enforceRetention } from './store/retention.js';
import { createConsoleOidc } from './sign-in/oidc-client.js';
import { SessionStore } from './sign-in/sessions.js';
import { TelemetryStore } from './store/telemetry-store.js';
import { NetworkWatcher } from './watch/network-watcher.js';

export { toConfig, type ConsoleConfig } from './config.js';
export type { ConsoleDb } from './db/schema.js';
export { consoleMigrations } from './db/migrations/index.js';

export interface ConsoleOverrides {
  logger?: Logger;
  now?: () => number;
}

export interface RunningConsole {
  port: number;
  url: string;
  store: TelemetryStore;
  watcher: NetworkWatcher;
}

const staticDir = fileURLToPath(new URL('./web', import.meta.url));

/**
 * Composition root of the operator console: its own database (the telemetry store), the OTLP
 * receiver and JSON API on one HTTP port, the watcher that polls the deployments and JetStream,
 * and the retention job.
 */
export function create(config: ConsoleConfig, overrides: ConsoleOverrides = {}) {
  const logger = overrides.logger ?? consoleLogger(config.consoleId, config.logLevel);
  const now = overrides.now ?? Date.now;
  const stops: (() => Promise<void> | void)[] = [];
  let running: RunningConsole | undefined;

  async function stop(): Promise<void> {
    for (const s of stops.splice(0).reverse()) {
      await Promise.resolve()
        .then(s)
        .catch((error) => logger.error({ err: error }, 'error while stopping'));
    }
  }

  return {
    get running() {
      return running;
    },
    async start(): Promise<RunningConsole> {
      try {
        const identity = loadIdentity(config.pkiDir, config.consoleId);
        const database: Database<ConsoleDb> = await openDatabase<ConsoleDb>(config.database);
        stops.push(() => database.close());
        const applied = await migrateToLatest(database.db, consoleMigrations);
        if (applied.length) logger.info({ migrations: applied }, 'database migrated');
        const db = database.db;

        const store = new TelemetryStore(db);
        await store.loadOperations();
        stops.push(() => store.flush());

        const live = new LiveEvents();
        stops.push(() => live.close());

        const watcher = new NetworkWatcher({
          db,
          logger,
          identity,
          deployments: config.deployments,
          hubId: config.hubId,
          natsUrl: config.natsUrl,
          consoleId: config.consoleId,
          pollIntervalMs: config.pollIntervalMs,
          onChange: (what) => live.broadcast(what, what === 'deployments' ? watcher.deployments() : { streams: watcher.streams(), problem: watcher.natsProblem }),
        });
        const deadLetters = new DeadLetters(watcher, db, [...config.deployments.keys()]);

        // With an issuer, people sign in and only the operator role acts; without one, the token below.
        let listening = '';
        const signIn: SignInDeps | undefined = config.signIn && {
          oidc: createConsoleOidc(config.signIn, config.consoleId, identity),
          sessions: new SessionStore(now),
          publicUrl: () => config.signIn?.publicUrl ?? listening,
          logger,
          now,
        };
        const router = new Router({
          staticDir,
          maxBodyBytes: 32 * 1024 * 1024,
          onError: (error, path) => logger.error({ err: error, path }, 'request failed'),
          ...(signIn && { gate: signInGate(signIn) }),
        });
        // Without a configured token a fresh one per start, in the log: whoever can read the
        // console's log (the operator who started it) can act; no one else.
        const adminToken = config.adminToken ?? randomBytes(24).toString('base64url');
        if (!config.adminToken && !signIn) logger.info({ admin_token: adminToken }, 'operator token for replay and discard (ADMIN_TOKEN unset, made for this start)');
        if (config.otlpTokens.size === 0) logger.warn('OTLP_TOKENS is empty: the console accepts telemetry from no one');
        const auth = { adminToken, otlpTokens: config.otlpTokens };
        if (signIn) registerSignInRoutes(router, signIn);
        registerApi(router, { consoleId: config.consoleId, hubId: config.hubId, db, store, watcher, deadLetters, live, auth, operators: signIn ? signInAccess() : tokenAccess(auth), now });
        const { server, port } = await router.listen(config.http.host, config.http.port);
        stops.push(() => closeServer(server));
        listening = `http://${config.http.host}:${port}`;

        // Tell open pages about new telemetry at most once a second.
        let seen = store.ingested.spans + store.ingested.logs + store.ingested.metrics;
        const notify = setInterval(() => {
          const total = store.ingested.spans + store.ingested.logs + store.ingested.metrics;
          if (total !== seen && live.size) live.broadcast('telemetry', store.ingested);
          seen = total;
        }, 1000);
        stops.push(() => clearInterval(notify));

        let retentionRun: Promise<unknown> | undefined;
        const retention = setInterval(() => {
          if (retentionRun) return;
          retentionRun = enforceRetention(db, config.retention, now() * 1000)
            .then((removed) => {
              if (removed.spans + removed.logs + removed.metricPoints + removed.samples > 0) logger.info({ removed }, 'retention: old telemetry deleted');
            })
            .catch((error) => logger.error({ err: error }, 'retention run failed'))
            .finally(() => (retentionRun = undefined));
        }, config.retention.intervalMs);
        stops.push(async () => {
          clearInterval(retention);
          await retentionRun;
        });

        watcher.start();
        stops.push(() => watcher.stop());

        const url = `http://${config.http.host}:${port}`;
        running = { port, url, store, watcher };
        logger.info(
          { http: url, database: database.kind, nats: config.natsUrl ?? null, deployments: [...config.deployments.keys()], hub: config.hubId ?? null, sign_in: config.signIn?.issuer ?? null },
          'ready',
        );
        return running;
      } catch (error) {
        await stop();
        throw error;
      }
    },
    stop,
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Open event streams would keep close() waiting forever.
    server.closeAllConnections();
  });
}
