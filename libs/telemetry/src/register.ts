/**
 * Preload that switches telemetry on from outside the service code:
 *   node --import tsx --import ./libs/telemetry/src/register.ts services/<name>/src/main.ts
 * Services then use only @opentelemetry/api.
 */
import { diag, DiagConsoleLogger } from '@opentelemetry/api';
import { readTelemetryEnv } from './env.js';
import { shutdownTelemetry, startTelemetry } from './start-telemetry.js';

const env = readTelemetryEnv();

if (!env.disabled) {
  // To stderr, so export failures show up without mixing into the services' JSON logs on stdout.
  diag.setLogger(new DiagConsoleLogger(), { logLevel: env.logLevel, suppressOverrideMessage: true });
  startTelemetry(env.options);
  // No SIGTERM/SIGINT listener here: adding one would replace Node's default "exit on signal" for
  // services that have none, and race the shutdown of those that do. A service stops on a signal
  // by closing its servers and connections; once the event loop drains, 'beforeExit' fires and
  // the last spans are flushed (the export keeps the loop alive until it is done). Only an
  // explicit process.exit() skips this.
  process.once('beforeExit', () => {
    void shutdownTelemetry();
  });
}
