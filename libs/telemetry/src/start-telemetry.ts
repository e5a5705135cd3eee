import { context, diag, propagation, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { DENIED_ATTRIBUTE_KEYS } from './personal-data-keys.js';
import { RedactingSpanProcessor } from './redacting-span-processor.js';

export const ATTR_LOTSE_AGENCY_ID = 'lotse.agency_id';

export interface TelemetryOptions {
  serviceName: string;
  /** The agency deployment this process serves; becomes the `lotse.agency_id` resource attribute. */
  agencyId?: string;
  /** Full OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces. Ignored when `exporter` is given. */
  otlpTracesUrl?: string;
  /** Exporter to use instead of OTLP — tests pass an InMemorySpanExporter. */
  exporter?: SpanExporter;
  /** Export each span as it ends instead of in batches; for tests that assert right after a span ends. */
  simple?: boolean;
  /** Replaces the default personal-data deny-list (matched by suffix of the last key segment). */
  deniedAttributeKeys?: readonly string[];
}

let provider: NodeTracerProvider | undefined;
let stopping: Promise<void> | undefined;

/**
 * Registers the OpenTelemetry SDK behind @opentelemetry/api for this process. Without an exporter
 * spans are still sampled and carry real trace ids (the hub's timeline records them, logs carry
 * them); they are just not sent anywhere.
 */
export function startTelemetry(options: TelemetryOptions): NodeTracerProvider {
  if (provider) throw new Error('@lotse/telemetry: already started in this process');
  const exporter = options.exporter ?? (options.otlpTracesUrl ? new OTLPTraceExporter({ url: options.otlpTracesUrl }) : undefined);
  const spanProcessors: SpanProcessor[] = [];
  if (exporter) {
    const exporting = options.simple ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
    spanProcessors.push(new RedactingSpanProcessor(exporting, options.deniedAttributeKeys ?? DENIED_ATTRIBUTE_KEYS));
  }
  provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        ...(options.agencyId ? { [ATTR_LOTSE_AGENCY_ID]: options.agencyId } : {}),
      }),
    ),
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

/**
 * Flushes and stops the SDK. It is unregistered from the API first, synchronously, so spans
 * started from here on are no-ops and a later startTelemetry (tests) can register again at once.
 * Safe to call more than once and when telemetry never started.
 */
export function shutdownTelemetry(): Promise<void> {
  const current = provider;
  if (!current) return stopping ?? Promise.resolve();
  provider = undefined;
  trace.disable();
  propagation.disable();
  context.disable();
  stopping = current.shutdown().catch((error: unknown) => diag.error('@lotse/telemetry: flushing spans on shutdown failed', error));
  return stopping;
}
