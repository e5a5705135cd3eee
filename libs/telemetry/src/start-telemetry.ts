import { context, diag, metrics, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { KeepInterestingTracesProcessor, type KeepInterestingTracesOptions } from './keep-interesting-traces.js';
import { DENIED_ATTRIBUTE_KEYS } from './personal-data-keys.js';
import { RedactingLogRecordProcessor } from './redacting-log-record-processor.js';
import { RedactingSpanProcessor } from './redacting-span-processor.js';

export const ATTR_LOTSE_AGENCY_ID = 'lotse.agency_id';

/** How often metrics are exported unless OTEL_METRIC_EXPORT_INTERVAL says otherwise (the SDK's own default is 60 s). */
export const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 5_000;

export interface TelemetryOptions {
  serviceName: string;
  /** The agency deployment this process serves; becomes the `lotse.agency_id` resource attribute. */
  agencyId?: string;
  /** Full OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces. Ignored when `exporter` is given. */
  otlpTracesUrl?: string;
  /** Full OTLP/HTTP logs URL (…/v1/logs). Ignored when `logExporter` is given. */
  otlpLogsUrl?: string;
  /** Full OTLP/HTTP metrics URL (…/v1/metrics). Ignored when `metricExporter` or `metricReaders` are given. */
  otlpMetricsUrl?: string;
  /** Metrics export period; 5 s by default. */
  metricExportIntervalMs?: number;
  /** Exporter to use instead of OTLP — tests pass an InMemorySpanExporter. */
  exporter?: SpanExporter;
  /** Log exporter to use instead of OTLP — tests pass an InMemoryLogRecordExporter. */
  logExporter?: LogRecordExporter;
  /** Metric exporter to use instead of OTLP, read every metricExportIntervalMs. */
  metricExporter?: PushMetricExporter;
  /** Metric readers to use instead of the periodic export — tests pass one they collect from. */
  metricReaders?: MetricReader[];
  /** Export each span and log record as it ends instead of in batches; for tests that assert right after. */
  simple?: boolean;
  /**
   * Export only traces with an error or a slow span, plus a share of the others by trace id
   * (LOTSE_TRACE_KEEP_RATIO below 1). Unset: every span is exported.
   */
  keepTraces?: KeepInterestingTracesOptions;
  /** Replaces the default personal-data deny-list (matched by suffix of the last key segment). */
  deniedAttributeKeys?: readonly string[];
}

export interface RunningTelemetry {
  tracerProvider: NodeTracerProvider;
  /** Only when logs are exported: without a provider, the logs API stays a no-op. */
  loggerProvider?: LoggerProvider;
  /** Only when metrics are read: without a provider, the metrics API stays a no-op. */
  meterProvider?: MeterProvider;
}

let running: RunningTelemetry | undefined;
let stopping: Promise<void> | undefined;

/**
 * Registers the OpenTelemetry SDK behind @opentelemetry/api and @opentelemetry/api-logs for this
 * process. Without a trace exporter spans are still sampled and carry real trace ids (the hub's
 * timeline records them, logs carry them); they are just not sent anywhere. Logs and metrics get
 * an SDK only when they go somewhere, so otherwise their API calls cost nothing.
 */
export function startTelemetry(options: TelemetryOptions): RunningTelemetry {
  if (running) throw new Error('@lotse/telemetry: already started in this process');
  const denied = options.deniedAttributeKeys ?? DENIED_ATTRIBUTE_KEYS;
  const resource = defaultResource().merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      ...(options.agencyId ? { [ATTR_LOTSE_AGENCY_ID]: options.agencyId } : {}),
    }),
  );

  const tracerProvider = startTracing(options, resource, denied);
  const loggerProvider = startLogs(options, resource, denied);
  const meterProvider = startMetrics(options, resource);
  running = { tracerProvider, ...(loggerProvider ? { loggerProvider } : {}), ...(meterProvider ? { meterProvider } : {}) };
  return running;
}

function startTracing(options: TelemetryOptions, resource: Resource, denied: readonly string[]): NodeTracerProvider {
  const exporter = options.exporter ?? (options.otlpTracesUrl ? new OTLPTraceExporter({ url: options.otlpTracesUrl }) : undefined);
  const spanProcessors: SpanProcessor[] = [];
  if (exporter) {
    const exporting = options.simple ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
    const redacting = new RedactingSpanProcessor(exporting, denied);
    // Deciding first: a span that is dropped is not redacted, serialised or sent either.
    spanProcessors.push(options.keepTraces ? new KeepInterestingTracesProcessor(redacting, options.keepTraces) : redacting);
  }
  const provider = new NodeTracerProvider({
    resource,
    // Every call between agencies is traced: the volume is small and a missing hop is what
    // someone debugging a lost referral would need most.
    sampler: new AlwaysOnSampler(),
    spanProcessors,
  });
  provider.register({
    // contextManager left undefined: the Node provider then installs AsyncLocalStorage, which is
    // what carries the active span across awaits.
    propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  });
  return provider;
}

function startLogs(options: TelemetryOptions, resource: Resource, denied: readonly string[]): LoggerProvider | undefined {
  const exporter = options.logExporter ?? (options.otlpLogsUrl ? new OTLPLogExporter({ url: options.otlpLogsUrl }) : undefined);
  if (!exporter) return undefined;
  const exporting = options.simple ? new SimpleLogRecordProcessor({ exporter }) : new BatchLogRecordProcessor({ exporter });
  const provider = new LoggerProvider({ resource, processors: [new RedactingLogRecordProcessor(exporting, denied)] });
  logs.setGlobalLoggerProvider(provider);
  return provider;
}

function startMetrics(options: TelemetryOptions, resource: Resource): MeterProvider | undefined {
  const readers: MetricReader[] = [...(options.metricReaders ?? [])];
  const exporter =
    options.metricExporter ?? (options.otlpMetricsUrl && !options.metricReaders ? new OTLPMetricExporter({ url: options.otlpMetricsUrl }) : undefined);
  if (exporter) {
    const interval = options.metricExportIntervalMs ?? DEFAULT_METRIC_EXPORT_INTERVAL_MS;
    // The reader refuses a timeout longer than its interval; an export that takes longer than
    // the interval is late anyway.
    readers.push(new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) }));
  }
  if (readers.length === 0) return undefined;
  const provider = new MeterProvider({ resource, readers });
  metrics.setGlobalMeterProvider(provider);
  return provider;
}

/**
 * Flushes and stops the SDK (traces, logs and metrics, with a last metrics export). It is
 * unregistered from the APIs first, synchronously, so telemetry from here on goes nowhere and a
 * later startTelemetry (tests) can register again at once. Safe to call more than once and when
 * telemetry never started.
 */
export function shutdownTelemetry(): Promise<void> {
  const current = running;
  if (!current) return stopping ?? Promise.resolve();
  running = undefined;
  trace.disable();
  propagation.disable();
  context.disable();
  logs.disable();
  metrics.disable();
  const flush = (what: string, provider: { shutdown(): Promise<void> } | undefined) =>
    provider?.shutdown().catch((error: unknown) => diag.error(`@lotse/telemetry: flushing ${what} on shutdown failed`, error));
  stopping = Promise.all([
    flush('spans', current.tracerProvider),
    flush('log records', current.loggerProvider),
    flush('metrics', current.meterProvider),
  ]).then(() => undefined);
  return stopping;
}
