/**
 * Preload that switches telemetry on from outside the service code:
 *   node --import tsx --import ./libs/telemetry/src/register.ts services/<name>/src/main.ts
 * Services then use only @opentelemetry/api and @opentelemetry/api-logs. With
 * OTEL_EXPORTER_OTLP_ENDPOINT set, traces, logs and metrics go there as OTLP/HTTP JSON
 * (/v1/traces, /v1/logs, /v1/metrics; metrics every OTEL_METRIC_EXPORT_INTERVAL ms, 5 s by default).
 */
import { diag, DiagConsoleLogger } from '@opentelemetry/api';
import { readTelemetryEnv } from './env.js';
import { shutdownTelemetry, startTelemetry } from './start-telemetry.js';

const env = readTelemetryEnv();

if (!env.disabled) {
  // To stderr, so export failures show up without mixing into the services' JSON logs on stdout.
  diag.setLogger(new DiagConsoleLogger(), { logLevel: env.logLevel, suppressOverrideMessage: true });
  for (const problem of env.problems) diag.warn(`@lotse/telemetry: ${problem}`);
  startTelemetry(env.options);
  // No SIGTERM/SIGINT listener here: adding one would replace Node's default "exit on signal" for
  // services that have none, and race the shutdown of those that do. A service stops on a signal
  // by closing its servers and connections; once the event loop drains, 'beforeExit' fires and
  // the last spans, log records and metrics are flushed (the exports keep the loop alive until
  // they are done). Only an explicit process.exit() skips this.
  process.once('beforeExit', () => {
    void shutdownTelemetry();
  });
}
