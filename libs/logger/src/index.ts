import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { OtelLogStream } from './otel-log-stream.js';

export type { Logger } from 'pino';
export { attributesOf, OtelLogStream } from './otel-log-stream.js';

/**
 * One pino logger per service. Every line carries the active trace_id/span_id so logs link to
 * traces, goes to stdout as JSON (or to `destination`), and is handed to the OpenTelemetry logs
 * API as well — a no-op unless the telemetry preload registered a LoggerProvider. Personal data is
 * never logged: log ids and codes, not names or birth dates.
 */
export function createLogger(service: string, options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    name: service,
    level: 'info',
    base: { service },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    ...options,
  };
  // pino refuses a stream next to a transport; whoever configures a transport ships the logs themselves.
  if (settings.transport) return pino(settings);
  // What pino itself would write to: stdout, asynchronously, flushed on exit.
  const out = destination ?? pino.destination({ dest: 1, sync: false });
  return pino(settings, new OtelLogStream(service, out));
}
