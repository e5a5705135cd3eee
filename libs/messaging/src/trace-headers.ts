import { context, propagation, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/transport-node';

/** W3C trace context (`traceparent`, `tracestate`) as stored in the outbox and the parked messages. */
export type TraceCarrier = Record<string, string>;

/** The context that is active now, as headers; empty when no telemetry is registered. */
export function captureTraceContext(ctx: Context = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

// There is no NATS instrumentation for OpenTelemetry, so the message headers are the carrier.
export const msgHdrsGetter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => carrier?.keys() ?? [],
  get: (carrier, key) => carrier?.get(key) || undefined,
};

export const msgHdrsSetter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** Headers as plain JSON (all values per key) for the parked-message table and for handlers. */
export function headersToRecord(hdrs: MsgHdrs | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!hdrs) return out;
  for (const [key, values] of hdrs) out[key] = [...values];
  return out;
}

/** Getter over the stored JSON form, so a replay continues the original trace. */
export const recordGetter: TextMapGetter<Record<string, string[]>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
