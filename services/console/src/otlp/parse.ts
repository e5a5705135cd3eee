// OTLP/HTTP JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) into the
// console's rows. Pure functions: no database, no clock.
import type { Insertable } from 'kysely';
import type { LogTable, MetricPointTable, SpanTable } from '../db/schema.js';

export class OtlpFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpFormatError';
  }
}

type Json = Record<string, any>;
export type Attributes = Record<string, unknown>;

/** An OTLP AnyValue as plain JSON. */
export function anyValue(value: Json | undefined): unknown {
  if (!value || typeof value !== 'object') return null;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return Boolean(value.boolValue);
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('bytesValue' in value) return value.bytesValue;
  if ('arrayValue' in value) return ((value.arrayValue?.values ?? []) as Json[]).map(anyValue);
  if ('kvlistValue' in value) return attributes(value.kvlistValue?.values);
  return null;
}

export function attributes(list: unknown): Attributes {
  const result: Attributes = {};
  if (!Array.isArray(list)) return result;
  for (const kv of list as Json[]) if (typeof kv?.key === 'string') result[kv.key] = anyValue(kv.value);
  return result;
}

/** Trace and span ids are hex in OTLP JSON; some encoders send base64 (the protobuf JSON default). */
export function hexId(id: unknown, bytes: 8 | 16): string | null {
  if (typeof id !== 'string' || id === '') return null;
  if (id.length === bytes * 2 && /^[0-9a-f]+$/i.test(id)) return /^0+$/.test(id) ? null : id.toLowerCase();
  const decoded = Buffer.from(id, 'base64');
  if (decoded.length === bytes) {
    const hex = decoded.toString('hex');
    return /^0+$/.test(hex) ? null : hex;
  }
  return null;
}

/** Nanoseconds (a decimal string or a number) → microseconds, without losing precision on the way. */
export function nanosToMicros(value: unknown): number {
  if (typeof value === 'number') return Math.floor(value / 1000);
  if (typeof value === 'string' && /^\d+$/.test(value)) return value.length <= 3 ? 0 : Number(value.slice(0, -3));
  return 0;
}

const kinds: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

function enumNumber(value: unknown, names: Record<string, number>): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return names[value] ?? (Number(value) || 0);
  return 0;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** `lotse.kv-mayen-koblenz.referral-requested` → `kv-mayen-koblenz`. */
export function producerOfSubject(subject: string | null): string | null {
  if (!subject) return null;
  const match = /^lotse\.([a-z0-9-]+)\./.exec(subject);
  return match ? match[1]! : null;
}

function serviceOf(resource: Json | undefined): string {
  const attrs = attributes(resource?.attributes);
  return String(attrs['service.name'] ?? attrs['lotse.agency_id'] ?? 'unknown');
}

function list(value: unknown, field: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpFormatError(`${field} must be an array`);
  return value as Json[];
}

function body(request: unknown, field: string): Json[] {
  if (!request || typeof request !== 'object') throw new OtlpFormatError('the body must be a JSON object');
  return list((request as Json)[field], field);
}

/** An ExportTraceServiceRequest → span rows. Spans without valid ids are skipped (and counted). */
export function parseTraces(request: unknown): { spans: Insertable<SpanTable>[]; rejected: number } {
  const spans: Insertable<SpanTable>[] = [];
  let rejected = 0;
  for (const rs of body(request, 'resourceSpans')) {
    const service = serviceOf(rs.resource);
    for (const ss of list(rs.scopeSpans ?? rs.instrumentationLibrarySpans, 'scopeSpans')) {
      for (const span of list(ss.spans, 'spans')) {
        const traceId = hexId(span.traceId, 16);
        const spanId = hexId(span.spanId, 8);
        if (!traceId || !spanId) {
          rejected++;
          continue;
        }
        const attrs = attributes(span.attributes);
        const start = nanosToMicros(span.startTimeUnixNano);
        const end = Math.max(start, nanosToMicros(span.endTimeUnixNano));
        const statusCode = enumNumber(span.status?.code, { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 });
        const grpcCode = attrs['rpc.grpc.status_code'];
        const kind = enumNumber(span.kind, kinds);
        const subject = str(attrs['messaging.destination.name']);
        spans.push({
          trace_id: traceId,
          span_id: spanId,
          parent_span_id: hexId(span.parentSpanId, 8),
          service,
          name: String(span.name ?? ''),
          kind,
          start_us: start,
          end_us: end,
          duration_us: end - start,
          status_code: statusCode,
          status_message: str(span.status?.message),
          // A server span that answered with a gRPC error is an error even if its status is unset.
          error: statusCode === 2 || (kind === 2 && typeof grpcCode === 'number' && grpcCode !== 0),
          case_ref: str(attrs['lotse.case_ref']),
          event_type: str(attrs['lotse.event_type']),
          subject,
          producer: kind === 5 ? producerOfSubject(subject) : null,
          caller: kind === 2 ? str(attrs['lotse.caller_agency']) : null,
          attributes: JSON.stringify(attrs),
          events: JSON.stringify(
            list(span.events, 'events').map((e) => ({ timeUs: nanosToMicros(e.timeUnixNano), name: String(e.name ?? ''), attributes: attributes(e.attributes) })),
          ),
          links: JSON.stringify(
            list(span.links, 'links').map((l) => ({ traceId: hexId(l.traceId, 16), spanId: hexId(l.spanId, 8), attributes: attributes(l.attributes) })),
          ),
        });
      }
    }
  }
  return { spans, rejected };
}

const severities: Record<string, number> = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 };

/** An ExportLogsServiceRequest → log rows. */
export function parseLogs(request: unknown): Insertable<LogTable>[] {
  const rows: Insertable<LogTable>[] = [];
  for (const rl of body(request, 'resourceLogs')) {
    const service = serviceOf(rl.resource);
    for (const sl of list(rl.scopeLogs ?? rl.instrumentationLibraryLogs, 'scopeLogs')) {
      for (const record of list(sl.logRecords, 'logRecords')) {
        const time = nanosToMicros(record.timeUnixNano) || nanosToMicros(record.observedTimeUnixNano);
        const value = anyValue(record.body);
        const severityText = str(record.severityText);
        let severityNumber = enumNumber(record.severityNumber, {});
        if (!severityNumber && severityText) severityNumber = severities[severityText.toUpperCase()] ?? 0;
        rows.push({
          time_us: time,
          service,
          severity_number: severityNumber,
          severity_text: severityText,
          body: typeof value === 'string' ? value : JSON.stringify(value),
          trace_id: hexId(record.traceId, 16),
          span_id: hexId(record.spanId, 8),
          attributes: JSON.stringify(attributes(record.attributes)),
        });
      }
    }
  }
  return rows;
}

/** An ExportMetricsServiceRequest → metric points (gauges, sums; histograms as their mean and count). */
export function parseMetrics(request: unknown): Insertable<MetricPointTable>[] {
  const rows: Insertable<MetricPointTable>[] = [];
  for (const rm of body(request, 'resourceMetrics')) {
    const service = serviceOf(rm.resource);
    for (const sm of list(rm.scopeMetrics ?? rm.instrumentationLibraryMetrics, 'scopeMetrics')) {
      for (const metric of list(sm.metrics, 'metrics')) {
        const base = { service, name: String(metric.name ?? ''), unit: str(metric.unit) };
        for (const kind of ['gauge', 'sum', 'histogram'] as const) {
          for (const point of list(metric[kind]?.dataPoints, `${kind}.dataPoints`)) {
            const time = nanosToMicros(point.timeUnixNano);
            const attrs = JSON.stringify(attributes(point.attributes));
            if (kind === 'histogram') {
              const count = Number(point.count ?? 0);
              const sum = Number(point.sum ?? 0);
              rows.push({ ...base, time_us: time, kind, value: count ? sum / count : 0, count, attributes: attrs });
            } else {
              const value = point.asDouble !== undefined ? Number(point.asDouble) : Number(point.asInt ?? 0);
              rows.push({ ...base, time_us: time, kind, value, count: null, attributes: attrs });
            }
          }
        }
      }
    }
  }
  return rows;
}
