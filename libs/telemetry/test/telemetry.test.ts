import { context, metrics, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shutdownTelemetry, startTelemetry } from '../src/index.js';

/** Collects on demand. */
class TestMetricReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

// Fresh exporters per test: shutting the SDK down also shuts its exporters down for good.
let exporter: InMemorySpanExporter;
let logExporter: InMemoryLogRecordExporter;
let reader: TestMetricReader;

beforeEach(() => {
  exporter = new InMemorySpanExporter();
  logExporter = new InMemoryLogRecordExporter();
  reader = new TestMetricReader();
  startTelemetry({ serviceName: 'kv-myk', agencyId: 'kv-myk', exporter, logExporter, metricReaders: [reader], simple: true });
});

afterEach(async () => {
  await shutdownTelemetry();
});

describe('startTelemetry', () => {
  it('exports spans created through @opentelemetry/api with the service resource', () => {
    const span = trace.getTracer('test').startSpan('referral.accept');
    span.setAttribute('lotse.case_ref', 'C-1');
    span.end();

    const [exported] = exporter.getFinishedSpans();
    expect(exported?.name).toBe('referral.accept');
    expect(exported?.attributes['lotse.case_ref']).toBe('C-1');
    expect(exported?.resource.attributes['service.name']).toBe('kv-myk');
    expect(exported?.resource.attributes['lotse.agency_id']).toBe('kv-myk');
    expect(exported?.spanContext().traceId).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
  });

  it('keeps the active span across awaits', async () => {
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('outer', async (outer) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      tracer.startSpan('inner').end();
      outer.end();
    });
    const inner = exporter.getFinishedSpans().find((span) => span.name === 'inner');
    const outer = exporter.getFinishedSpans().find((span) => span.name === 'outer');
    expect(outer).toBeDefined();
    expect(inner?.parentSpanContext?.spanId).toBe(outer!.spanContext().spanId);
  });

  it('propagates trace context and baggage through a plain carrier (W3C traceparent)', () => {
    const tracer = trace.getTracer('test');
    const carrier: Record<string, string> = {};
    const publish = tracer.startSpan('nats publish');
    const withBaggage = propagation.setBaggage(trace.setSpan(context.active(), publish), propagation.createBaggage({ 'lotse.flow': { value: 'referral' } }));
    propagation.inject(withBaggage, carrier);
    publish.end();

    const { traceId, spanId } = publish.spanContext();
    expect(carrier.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(carrier.baggage).toBe('lotse.flow=referral');

    // The consumer side, as a message handler would do it with the message headers.
    const extracted = propagation.extract(ROOT_CONTEXT, carrier);
    tracer.startSpan('nats consume', {}, extracted).end();
    const consume = exporter.getFinishedSpans().find((span) => span.name === 'nats consume');
    expect(consume?.spanContext().traceId).toBe(traceId);
    expect(consume?.parentSpanContext?.spanId).toBe(spanId);
    expect(propagation.getBaggage(extracted)?.getEntry('lotse.flow')?.value).toBe('referral');
  });

  it('drops personal-data attributes before export', () => {
    const span = trace.getTracer('test').startSpan('newcomer.register');
    span.setAttributes({
      'newcomer.family_name': 'Mustermann',
      'newcomer.given_names': 'Erika',
      'lotse.case_ref': 'C-2',
      'server.address': 'kv-myk',
      'messaging.destination.name': 'lotse.kv-myk.case.opened',
    });
    span.addEvent('checked', { 'newcomer.birth_date': '1990-01-01', outcome: 'ok' });
    span.end();

    const [exported] = exporter.getFinishedSpans();
    expect(exported?.attributes).toEqual({
      'lotse.case_ref': 'C-2',
      'server.address': 'kv-myk',
      'messaging.destination.name': 'lotse.kv-myk.case.opened',
      'lotse.redacted_keys': ['newcomer.birth_date', 'newcomer.family_name', 'newcomer.given_names'],
    });
    expect(exported?.events[0]?.attributes).toEqual({ outcome: 'ok' });
  });

  it('refuses to start twice and can start again after shutdown', async () => {
    expect(() => startTelemetry({ serviceName: 'again', exporter })).toThrow(/already started/);
    await shutdownTelemetry();
    await shutdownTelemetry();
    exporter = new InMemorySpanExporter();
    startTelemetry({ serviceName: 'again', exporter, simple: true });
    trace.getTracer('test').startSpan('after restart').end();
    expect(exporter.getFinishedSpans().at(-1)?.resource.attributes['service.name']).toBe('again');
  });

  it('exports log records with the resource, the active trace context and without personal-data attributes', () => {
    const span = trace.getTracer('test').startSpan('referral.accept');
    context.with(trace.setSpan(context.active(), span), () => {
      logs.getLogger('test').emit({
        severityNumber: SeverityNumber.WARN,
        body: 'referral accepted late',
        attributes: { 'lotse.case_ref': 'C-3', 'newcomer.given_names': 'Erika', contact_email: 'x@example.org' },
      });
    });
    span.end();
    const [record] = logExporter.getFinishedLogRecords();
    expect(record?.body).toBe('referral accepted late');
    expect(record?.resource.attributes['service.name']).toBe('kv-myk');
    expect(record?.resource.attributes['lotse.agency_id']).toBe('kv-myk');
    expect(record?.spanContext?.traceId).toBe(span.spanContext().traceId);
    expect(record?.spanContext?.spanId).toBe(span.spanContext().spanId);
    expect(record?.attributes).toEqual({ 'lotse.case_ref': 'C-3', 'lotse.redacted_keys': ['contact_email', 'newcomer.given_names'] });
  });

  it('exports metrics recorded through @opentelemetry/api with the service resource', async () => {
    metrics.getMeter('lotse').createCounter('lotse.test.count').add(3, { 'lotse.event_type': 'ReferralRouted' });
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.resource.attributes['service.name']).toBe('kv-myk');
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'lotse.test.count');
    expect(metric?.dataPoints).toMatchObject([{ value: 3, attributes: { 'lotse.event_type': 'ReferralRouted' } }]);
  });

  it('registers no log or meter provider when logs and metrics go nowhere', async () => {
    await shutdownTelemetry();
    exporter = new InMemorySpanExporter();
    const running = startTelemetry({ serviceName: 'quiet', exporter });
    expect(running.loggerProvider).toBeUndefined();
    expect(running.meterProvider).toBeUndefined();
    expect(logs.getLogger('x').enabled()).toBe(false);
  });
});
