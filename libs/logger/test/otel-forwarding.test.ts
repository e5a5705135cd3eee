import { context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import { shutdownTelemetry, startTelemetry } from '@lotse/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attributesOf, createLogger } from '../src/index.js';

let logExporter: InMemoryLogRecordExporter;
let lines: string[];
const destination = { write: (line: string) => void lines.push(line) };

beforeEach(() => {
  lines = [];
  logExporter = new InMemoryLogRecordExporter();
  startTelemetry({ serviceName: 'kv-myk', agencyId: 'kv-myk', logExporter, simple: true });
});

afterEach(async () => {
  await shutdownTelemetry();
});

describe('createLogger with a registered LoggerProvider', () => {
  it('writes JSON with trace ids and forwards the same record with its trace context', () => {
    const logger = createLogger('kv-myk', {}, destination).child({ consumer: 'lotsenhaus' });
    const span = trace.getTracer('test').startSpan('consume');
    context.with(trace.setSpan(context.active(), span), () => {
      logger.warn({ event_id: 'e-1', facts: { deliveries: 3, ok: false, durables: ['a', 'b'] } }, 'event handling failed; will retry');
    });
    span.end();
    const { traceId, spanId } = span.spanContext();

    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 40, msg: 'event handling failed; will retry', trace_id: traceId, span_id: spanId, consumer: 'lotsenhaus' });

    const [record] = logExporter.getFinishedLogRecords();
    expect(record?.body).toBe('event handling failed; will retry');
    expect(record?.severityNumber).toBe(SeverityNumber.WARN);
    expect(record?.severityText).toBe('WARN');
    expect(record?.spanContext).toMatchObject({ traceId, spanId });
    expect(record?.instrumentationScope.name).toBe('kv-myk');
    expect(record?.resource.attributes['service.name']).toBe('kv-myk');
    expect(record?.attributes).toEqual({
      consumer: 'lotsenhaus',
      event_id: 'e-1',
      'facts.deliveries': 3,
      'facts.ok': false,
      'facts.durables': '["a","b"]',
    });
    // Same instant as the line.
    expect(record!.hrTime[0] * 1000 + Math.floor(record!.hrTime[1] / 1e6)).toBe(line.time);
  });

  it('maps errors to the exception attributes and every pino level to a severity', () => {
    const logger = createLogger('kv-myk', { level: 'trace' }, destination);
    logger.error({ err: new TypeError('boom') }, 'handler failed');
    logger.trace('t');
    logger.debug('d');
    logger.info('i');
    logger.fatal('f');
    const [error, ...rest] = logExporter.getFinishedLogRecords();
    expect(error?.attributes).toMatchObject({ 'exception.type': 'TypeError', 'exception.message': 'boom' });
    expect(String(error?.attributes['exception.stacktrace'])).toContain('TypeError: boom');
    expect(error?.severityNumber).toBe(SeverityNumber.ERROR);
    expect(rest.map((r) => [r.severityNumber, r.severityText])).toEqual([
      [SeverityNumber.TRACE, 'TRACE'],
      [SeverityNumber.DEBUG, 'DEBUG'],
      [SeverityNumber.INFO, 'INFO'],
      [SeverityNumber.FATAL, 'FATAL'],
    ]);
  });

  it('forwards only what the logger level lets through, and drops personal-data keys before export', () => {
    const logger = createLogger('kv-myk', { level: 'info' }, destination);
    logger.debug('not written, not forwarded');
    logger.info({ newcomer: { family_name: 'Mustermann', nationality_code: 'SY' }, case_ref: 'C-1' }, 'registered');
    expect(lines).toHaveLength(1);
    const records = logExporter.getFinishedLogRecords();
    expect(records).toHaveLength(1);
    expect(records[0]?.attributes).toEqual({ case_ref: 'C-1', 'newcomer.nationality_code': 'SY', 'lotse.redacted_keys': ['newcomer.family_name'] });
  });

  it('logs to its destination only once telemetry is shut down (no provider: nothing is parsed or emitted)', async () => {
    await shutdownTelemetry();
    const logger = createLogger('kv-myk', {}, destination);
    logger.info('still logged');
    expect(lines).toHaveLength(1);
    expect(logExporter.getFinishedLogRecords()).toHaveLength(0);
  });
});

describe('attributesOf', () => {
  it('flattens nested fields, leaves out nulls and deep nesting, caps the count', () => {
    expect(attributesOf({ level: 30, time: 1, msg: 'x', name: 'n', service: 's', a: null, b: { c: { d: { e: { f: 1, g: { h: 2 } } } } }, i: { j: 'k' } })).toEqual({ 'b.c.d.e.f': 1, 'i.j': 'k' });
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(attributesOf(many))).toHaveLength(64);
  });
});
