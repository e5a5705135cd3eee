import { context } from '@opentelemetry/api';
import { logs, SeverityNumber, type Logger as OtelLogger, type LoggerProvider, type LogAttributes } from '@opentelemetry/api-logs';
import type { DestinationStream } from 'pino';

// pino hands a stream that asks for it the numeric level of the line it is about to write.
const needsMetadata = Symbol.for('pino.metadata');

// Fields every line has that the log record carries elsewhere: level → severity, time →
// timestamp, msg → body, trace_id/span_id → the record's own trace context, name/service →
// the instrumentation scope (and the resource's service.name).
const RECORD_FIELDS = new Set(['level', 'time', 'msg', 'name', 'service', 'trace_id', 'span_id', 'trace_flags', 'pid', 'hostname']);
const MAX_DEPTH = 4;
const MAX_ATTRIBUTES = 64;

/**
 * The pino destination of @lotse/logger: writes each JSON line on to stdout (or wherever) and
 * emits it through the OpenTelemetry logs API — severity, body = msg, the other fields as
 * flattened scalar attributes, and the active context, so the record carries the trace and span
 * ids of the code that logged. pino writes synchronously within the log call, so the active
 * context here is the caller's. The level is checked first and a line is parsed only when a
 * LoggerProvider is registered that wants it, so without telemetry this costs one method call.
 */
export class OtelLogStream implements DestinationStream {
  readonly [needsMetadata] = true;
  /** Set by pino before each write. */
  lastLevel = 0;
  private provider: LoggerProvider | undefined;
  private logger: OtelLogger | undefined;

  constructor(
    private readonly scope: string,
    private readonly out: DestinationStream,
  ) {}

  write(line: string): void {
    this.out.write(line);
    try {
      this.forward(line);
    } catch {
      // Telemetry must never break logging (a line that is not JSON, a failing processor).
    }
  }

  /** pino.flush() and pino.final() reach the underlying stream through these. */
  flush(callback?: (error?: Error) => void): void {
    const out = this.out as DestinationStream & { flush?: (cb?: (error?: Error) => void) => void };
    if (out.flush) out.flush(callback);
    else callback?.();
  }

  flushSync(): void {
    (this.out as DestinationStream & { flushSync?: () => void }).flushSync?.();
  }

  end(): void {
    (this.out as DestinationStream & { end?: () => void }).end?.();
  }

  private forward(line: string): void {
    const provider = logs.getLoggerProvider();
    // The API hands out another provider once one is registered (or after disable()); follow it.
    if (provider !== this.provider) {
      this.provider = provider;
      this.logger = provider.getLogger(this.scope);
    }
    const severityNumber = severityOf(this.lastLevel);
    const active = context.active();
    if (!this.logger!.enabled({ context: active, severityNumber })) return;
    const record = JSON.parse(line) as Record<string, unknown>;
    const level = typeof record.level === 'number' ? record.level : this.lastLevel;
    this.logger!.emit({
      timestamp: timestampOf(record.time),
      severityNumber: severityOf(level),
      severityText: severityTextOf(level),
      ...(typeof record.msg === 'string' ? { body: record.msg } : {}),
      attributes: attributesOf(record),
      context: active,
    });
  }
}

export function severityOf(level: number): SeverityNumber {
  if (level <= 10) return SeverityNumber.TRACE;
  if (level <= 20) return SeverityNumber.DEBUG;
  if (level <= 30) return SeverityNumber.INFO;
  if (level <= 40) return SeverityNumber.WARN;
  if (level <= 50) return SeverityNumber.ERROR;
  return SeverityNumber.FATAL;
}

function severityTextOf(level: number): string {
  if (level <= 10) return 'TRACE';
  if (level <= 20) return 'DEBUG';
  if (level <= 30) return 'INFO';
  if (level <= 40) return 'WARN';
  if (level <= 50) return 'ERROR';
  return 'FATAL';
}

function timestampOf(time: unknown): number | Date | undefined {
  if (typeof time === 'number') return time;
  if (typeof time === 'string') {
    const parsed = new Date(time);
    return Number.isNaN(parsed.getTime()) ? undefined : parsed;
  }
  return undefined;
}

/**
 * `{ err: { type, message, stack }, facts: { a: 1 } }` → `{ 'exception.type', 'exception.message',
 * 'exception.stacktrace', 'facts.a': 1 }`. Scalars only: arrays become their JSON text, nesting
 * deeper than a few levels and null values are left out.
 */
export function attributesOf(record: Record<string, unknown>): LogAttributes {
  const out: LogAttributes = {};
  let count = 0;
  const put = (key: string, value: string | number | boolean) => {
    if (count >= MAX_ATTRIBUTES) return;
    out[key] = value;
    count++;
  };
  const walk = (prefix: string, value: unknown, depth: number) => {
    if (value === null || value === undefined) return;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return put(prefix, value);
    if (Array.isArray(value)) return put(prefix, JSON.stringify(value));
    if (typeof value === 'object' && depth < MAX_DEPTH) {
      for (const [key, inner] of Object.entries(value as Record<string, unknown>)) walk(`${prefix}.${key}`, inner, depth + 1);
    }
  };
  for (const [key, value] of Object.entries(record)) {
    if (RECORD_FIELDS.has(key)) continue;
    if (key === 'err' && value && typeof value === 'object') {
      // pino's error serializer → the OpenTelemetry exception attributes.
      const { type, message, stack, ...rest } = value as Record<string, unknown>;
      if (typeof type === 'string') put('exception.type', type);
      if (typeof message === 'string') put('exception.message', message);
      if (typeof stack === 'string') put('exception.stacktrace', stack);
      walk('err', rest, 1);
      continue;
    }
    walk(key, value, 0);
  }
  return out;
}
