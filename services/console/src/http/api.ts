// The console's HTTP API: the OTLP receiver, live updates, and the JSON its page reads, from its
// own store, from the hub and from the deployments' dead letters.
import type { Kysely } from '@lotse/db';
import type { ConsoleDb } from '../db/schema.js';
import type { DeadLetters } from '../operator/dead-letters.js';
import type { TelemetryStore } from '../store/telemetry-store.js';
import type { NetworkWatcher } from '../watch/network-watcher.js';
import type { ConsoleAuth } from './auth.js';
import { registerDeadLetterRoutes } from './dead-letter-routes.js';
import type { OperatorAccess } from './operator-access.js';
import type { Router } from './http-server.js';
import { registerHubRoutes } from './hub-routes.js';
import type { LiveEvents } from './live-events.js';
import { registerOtlpReceiver } from './otlp-receiver.js';
import { registerTelemetryRoutes } from './telemetry-routes.js';

export interface ApiDeps {
  consoleId: string;
  hubId?: string;
  db: Kysely<ConsoleDb>;
  store: TelemetryStore;
  watcher: NetworkWatcher;
  deadLetters: DeadLetters;
  live: LiveEvents;
  auth: ConsoleAuth;
  /** Who may replay and discard: the operator token's holder, or a signed-in operator. */
  operators: OperatorAccess;
  now(): number;
}

export function registerApi(router: Router, deps: ApiDeps): void {
  registerOtlpReceiver(router, deps);

  // --- live updates ------------------------------------------------------------------------------
  router.on('GET', '/api/events', (req, res) => {
    deps.live.attach(res, { consoleId: deps.consoleId, at: new Date(deps.now()).toISOString() });
    // A signed-in page's stream ends with its session; reconnecting then needs a new one.
    if (req.session) {
      const ends = setTimeout(() => res.end(), Math.max(0, req.session.expiresAt - deps.now()));
      res.on('close', () => clearTimeout(ends));
    }
  });

  // Signed in, /api/me says who (sign-in-routes.ts); with the operator token there is no one to name.
  if (!deps.operators.signIn) router.on('GET', '/api/me', () => ({ signIn: false, person: null, mayAct: true }));

  registerTelemetryRoutes(router, deps);
  registerHubRoutes(router, deps);
  registerDeadLetterRoutes(router, deps);
}
