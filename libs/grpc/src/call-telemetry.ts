import { context, createContextKey, metrics, trace, type Histogram, type Meter, type Span } from '@opentelemetry/api';

/** The span of the gRPC call being served, so setCaseRef finds it under a handler's own spans. */
const SERVER_SPAN = createContextKey('@lotse/grpc server span');

export const ATTR_CASE_REF = 'lotse.case_ref';

export function withServerSpan(ctx: ReturnType<typeof context.active>, span: Span) {
  return ctx.setValue(SERVER_SPAN, span);
}

/**
 * Marks the gRPC call being served (and the span active right now, if that is another one) as
 * belonging to a case, so the console can list every call of a case. A case ref is a
 * pseudonymous reference; never pass a name or any other personal data. Outside a call, or
 * without telemetry, this does nothing.
 */
export function setCaseRef(caseRef: string | undefined | null): void {
  if (!caseRef) return;
  const active = context.active();
  const server = active.getValue(SERVER_SPAN) as Span | undefined;
  server?.setAttribute(ATTR_CASE_REF, caseRef);
  const current = trace.getSpan(active);
  if (current && current !== server) current.setAttribute(ATTR_CASE_REF, caseRef);
}

let instruments: { meter: Meter; duration: Histogram } | undefined;

/**
 * `rpc.server.duration` in milliseconds. The metrics API has no proxy, so the histogram is made
 * again whenever the API hands out another meter (the SDK registered late, or a test restarted it).
 */
export function recordServerDuration(ms: number, attributes: { service: string; method: string; code: number }): void {
  const meter = metrics.getMeter('lotse');
  if (instruments?.meter !== meter) {
    instruments = {
      meter,
      duration: meter.createHistogram('rpc.server.duration', { description: 'Duration of gRPC calls this deployment served', unit: 'ms' }),
    };
  }
  instruments.duration.record(ms, {
    'rpc.system': 'grpc',
    'rpc.service': attributes.service,
    'rpc.method': attributes.method,
    'rpc.grpc.status_code': attributes.code,
  });
}
