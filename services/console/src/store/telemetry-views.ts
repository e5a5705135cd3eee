// What the console's views get of the stored telemetry: spans, logs, traces and flows as plain
// objects, and how a stored row becomes one (JSON columns parsed, microseconds as numbers).
import type { Selectable } from 'kysely';
import type { LogTable, SpanTable } from '../db/schema.js';
import type { Waterfall } from '../traces/waterfall.js';

export interface SpanView {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  service: string;
  name: string;
  kind: number;
  startUs: number;
  durationUs: number;
  error: boolean;
  statusMessage: string | null;
  caseRef: string | null;
  eventType: string | null;
  attributes: Record<string, unknown>;
  events: { timeUs: number; name: string; attributes: Record<string, unknown> }[];
  links: { traceId: string | null; spanId: string | null }[];
}

export interface LogView {
  timeUs: number;
  service: string;
  severity: string;
  body: string;
  spanId: string | null;
  attributes: Record<string, unknown>;
}

export interface TraceDetail extends Waterfall<SpanView> {
  traceId: string;
  logs: LogView[];
  caseRefs: string[];
}

export interface TraceQuery {
  service?: string;
  operation?: string;
  minDurationMs?: number;
  errorsOnly?: boolean;
  caseRef?: string;
  eventType?: string;
  /** Only spans that started before this (µs), to page back in time. */
  beforeUs?: number;
  limit?: number;
}

export interface TraceSummary {
  traceId: string;
  rootService: string;
  rootName: string;
  startUs: number;
  durationUs: number;
  spans: number;
  errors: number;
  services: string[];
  caseRefs: string[];
}

export interface FlowEdge {
  source: string;
  target: string;
  /** event: consume spans (producer → consumer); grpc: server spans (caller → callee). */
  kind: 'event' | 'grpc';
  count: number;
  errors: number;
  perMinute: number;
  errorRate: number;
}

const severityNames = ['UNSPECIFIED', 'TRACE', 'TRACE', 'TRACE', 'TRACE', 'DEBUG', 'DEBUG', 'DEBUG', 'DEBUG', 'INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'WARN', 'WARN', 'WARN', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'FATAL'];

const json = <T>(value: unknown, fallback: T): T => {
  if (value === null || value === undefined) return fallback;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
};

export function toSpanView(r: Selectable<SpanTable>): SpanView {
  return {
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    service: r.service,
    name: r.name,
    kind: r.kind,
    startUs: Number(r.start_us),
    durationUs: Number(r.duration_us),
    error: r.error,
    statusMessage: r.status_message,
    caseRef: r.case_ref,
    eventType: r.event_type,
    attributes: json(r.attributes, {}),
    events: json(r.events, []),
    links: json(r.links, []),
  };
}

export function toLogView(l: Selectable<LogTable>): LogView {
  return {
    timeUs: Number(l.time_us),
    service: l.service,
    severity: l.severity_text ?? severityNames[l.severity_number] ?? String(l.severity_number),
    body: l.body,
    spanId: l.span_id,
    attributes: json(l.attributes, {}),
  };
}
