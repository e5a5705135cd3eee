import { propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { KeepInterestingTracesProcessor } from './keep-interesting-traces.js';

let exporter: InMemorySpanExporter;
let provider: BasicTracerProvider;
let tracer: Tracer;

function start(keepRatio: number, slowMs = 500, extra: { maxWaitMs?: number } = {}) {
  exporter = new InMemorySpanExporter();
  provider = new BasicTracerProvider({
    spanProcessors: [new KeepInterestingTracesProcessor(new SimpleSpanProcessor(exporter), { keepRatio, slowMs, ...extra })],
  });
  tracer = provider.getTracer('test');
}

afterEach(async () => {
  await provider.shutdown();
});

/** A local root with one child; the child ends first, as a handler's spans do. */
function traceWith(child: (span: ReturnType<Tracer['startSpan']>) => void, parentContext = ROOT_CONTEXT): string {
  const root = tracer.startSpan('root', {}, parentContext);
  const inner = tracer.startSpan('child', {}, trace.setSpan(parentContext, root));
  child(inner);
  inner.end();
  root.end();
  return root.spanContext().traceId;
}

const traceIds = (spans: ReadableSpan[]) => new Set(spans.map((s) => s.spanContext().traceId));

describe('KeepInterestingTracesProcessor', () => {
  it('drops healthy fast traces at ratio 0 and keeps every trace with an error, whole', () => {
    start(0);
    traceWith(() => undefined);
    const failed = traceWith((span) => span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' }));
    const spans = exporter.getFinishedSpans();
    expect(traceIds(spans)).toEqual(new Set([failed]));
    expect(spans.map((s) => s.name).sort()).toEqual(['child', 'root']);
  });

  it('keeps a trace with a slow span', () => {
    start(0, 500);
    const slow = traceWith((span) => {
      // A span that ends with a time 0.6 s after its start.
      const started = span as unknown as { startTime: [number, number] };
      span.end([started.startTime[0] + 1, started.startTime[1]]);
    });
    expect(traceIds(exporter.getFinishedSpans())).toEqual(new Set([slow]));
  });

  it('keeps every trace at ratio 1 and about the ratio otherwise, by trace id', () => {
    start(0.25);
    const ids = Array.from({ length: 400 }, () => traceWith(() => undefined));
    const kept = traceIds(exporter.getFinishedSpans());
    expect(kept.size).toBeGreaterThan(60);
    expect(kept.size).toBeLessThan(140);
    // The choice depends only on the id: another process with the same ratio keeps the same ones.
    for (const id of ids) expect(kept.has(id)).toBe(Number.parseInt(id.slice(-8), 16) < 0.25 * 2 ** 32);
  });

  it('decides a trace continued from another process when its local root ends there', () => {
    start(0);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const remote = propagation.extract(ROOT_CONTEXT, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const id = traceWith((span) => span.setStatus({ code: SpanStatusCode.ERROR }), remote);
    expect(id).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(exporter.getFinishedSpans().map((s) => s.name).sort()).toEqual(['child', 'root']);
    propagation.disable();
  });

  it('exports an error span that ends after its healthy trace was dropped, and nothing else of it', () => {
    start(0);
    const root = tracer.startSpan('root');
    const late = tracer.startSpan('late', {}, trace.setSpan(ROOT_CONTEXT, root));
    const healthy = tracer.startSpan('healthy', {}, trace.setSpan(ROOT_CONTEXT, root));
    root.end();
    healthy.end();
    late.setStatus({ code: SpanStatusCode.ERROR });
    late.end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['late']);
  });

  it('does not hold spans for ever when the local root never ends', () => {
    start(0, 500, { maxWaitMs: 0 });
    const root = tracer.startSpan('stream');
    const failed = tracer.startSpan('failed', {}, trace.setSpan(ROOT_CONTEXT, root));
    failed.setStatus({ code: SpanStatusCode.ERROR });
    failed.end();
    // The next span to end decides the stale trace on what it has.
    tracer.startSpan('other').end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['failed']);
    root.end();
  });
});
