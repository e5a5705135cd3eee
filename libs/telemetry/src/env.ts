import { DiagLogLevel } from '@opentelemetry/api';
import { diagLogLevelFromString } from '@opentelemetry/core';
import type { TelemetryOptions } from './start-telemetry.js';

export interface TelemetryEnv {
  disabled: boolean;
  logLevel: DiagLogLevel;
  options: TelemetryOptions;
  /** Values that were ignored (and why); the preload reports them once diag logging is set up. */
  problems: string[];
}

/**
 * The only place the telemetry preload reads the environment (standard OTEL_* names, so a
 * collector set-up from any other OpenTelemetry project works unchanged).
 */
export function readTelemetryEnv(env: NodeJS.ProcessEnv = process.env): TelemetryEnv {
  const agencyId = nonEmpty(env.AGENCY_ID) ?? nonEmpty(env.PROVIDER_ID);
  const endpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT)?.replace(/\/+$/, '');
  // The per-signal variables are complete URLs by the spec; the generic one is a base URL.
  const signalUrl = (specific: string | undefined, path: string) => nonEmpty(specific) ?? (endpoint ? `${endpoint}/${path}` : undefined);
  const otlpTracesUrl = signalUrl(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'v1/traces');
  const otlpLogsUrl = signalUrl(env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, 'v1/logs');
  const otlpMetricsUrl = signalUrl(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, 'v1/metrics');
  const problems: string[] = [];
  const metricExportIntervalMs = positiveInteger(env, 'OTEL_METRIC_EXPORT_INTERVAL', problems);
  const keepRatio = ratio(env, 'LOTSE_TRACE_KEEP_RATIO', problems);
  const slowMs = positiveInteger(env, 'LOTSE_TRACE_SLOW_MS', problems) ?? DEFAULT_TRACE_SLOW_MS;
  return {
    disabled: env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true',
    logLevel: diagLogLevelFromString(nonEmpty(env.OTEL_LOG_LEVEL)) ?? DiagLogLevel.WARN,
    options: {
      serviceName: nonEmpty(env.OTEL_SERVICE_NAME) ?? agencyId ?? 'lotse',
      ...(agencyId ? { agencyId } : {}),
      ...(otlpTracesUrl ? { otlpTracesUrl } : {}),
      ...(otlpLogsUrl ? { otlpLogsUrl } : {}),
      ...(otlpMetricsUrl ? { otlpMetricsUrl } : {}),
      ...(metricExportIntervalMs !== undefined ? { metricExportIntervalMs } : {}),
      ...(keepRatio !== undefined && keepRatio < 1 ? { keepTraces: { keepRatio, slowMs } } : {}),
    },
    problems,
  };
}

/** A span this long (ms) keeps its trace when LOTSE_TRACE_KEEP_RATIO drops the others. */
export const DEFAULT_TRACE_SLOW_MS = 500;

function ratio(env: NodeJS.ProcessEnv, name: string, problems: string[]): number | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (Number.isFinite(value) && value >= 0 && value <= 1) return value;
  problems.push(`${name}="${raw}" is not a number from 0 to 1; keeping every trace`);
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

// As the OpenTelemetry SDKs do: a bad value is reported and the default used, telemetry never stops a service.
function positiveInteger(env: NodeJS.ProcessEnv, name: string, problems: string[]): number | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (Number.isInteger(value) && value > 0) return value;
  problems.push(`${name}="${raw}" is not a positive whole number of milliseconds; using the default`);
  return undefined;
}
