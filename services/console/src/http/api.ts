// The console's HTTP API: the OTLP receiver, live updates, and the JSON its page reads, from its
// own store, from the hub and from the deployments' dead letters.
import type { Kysely } from '@lotse/db';
import type { ConsoleDb } from '../db/schema.js';
import type { DeadLetters } from '../operator/dead-letters.js';
import type { TelemetryStore } from '../store/telemetry-store.js';
import type { NetworkWatcher } from '../watch/network-watcher.js';
import type { ConsoleAuth } from './auth.js';
import { registerDeadLetterRoutes } from './dead-letter-routes.js';
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
  now(): number;
}

export function registerApi(router: Router, deps: ApiDeps): void {
  registerOtlpReceiver(router, deps);

  // --- live updates ------------------------------------------------------------------------------
  router.on('GET', '/api/events', (_req, res) => {
    deps.live.attach(res, { consoleId: deps.consoleId, at: new Date(deps.now()).toISOString() });
  });

  registerTelemetryRoutes(router, deps);
  registerHubRoutes(router, deps);
  registerDeadLetterRoutes(router, deps);
}
