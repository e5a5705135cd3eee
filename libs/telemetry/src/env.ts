import { DiagLogLevel } from '@opentelemetry/api';
import { diagLogLevelFromString } from '@opentelemetry/core';
import type { TelemetryOptions } from './start-telemetry.js';

export interface TelemetryEnv {
  disabled: boolean;
  logLevel: DiagLogLevel;
  options: TelemetryOptions;
}

/**
 * The only place the telemetry preload reads the environment (standard OTEL_* names, so a
 * collector set-up from any other OpenTelemetry project works unchanged).
 */
export function readTelemetryEnv(env: NodeJS.ProcessEnv = process.env): TelemetryEnv {
  const agencyId = nonEmpty(env.AGENCY_ID) ?? nonEmpty(env.PROVIDER_ID);
  const endpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  // The per-signal variable is a complete URL by the spec; the generic one is a base URL.
  const otlpTracesUrl = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? (endpoint ? `${endpoint.replace(/\/+$/, '')}/v1/traces` : undefined);
  return {
    disabled: env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true',
    logLevel: diagLogLevelFromString(nonEmpty(env.OTEL_LOG_LEVEL)) ?? DiagLogLevel.WARN,
    options: {
      serviceName: nonEmpty(env.OTEL_SERVICE_NAME) ?? agencyId ?? 'lotse',
      ...(agencyId ? { agencyId } : {}),
      ...(otlpTracesUrl ? { otlpTracesUrl } : {}),
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
