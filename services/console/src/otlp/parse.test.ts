import { describe, expect, it } from 'vitest';
import { hexId, nanosToMicros, OtlpFormatError, parseLogs, parseMetrics, parseTraces, producerOfSubject } from './parse.js';

const resource = (service: string) => ({ attributes: [{ key: 'service.name', value: { stringValue: service } }] });

describe('OTLP/HTTP JSON traces', () => {
  it('turns spans into rows with the Lotse facts pulled out of the attributes', () => {
    const { spans, rejected } = parseTraces({
      resourceSpans: [
        {
          resource: resource('lotsenhaus'),
          scopeSpans: [
            {
              scope: { name: '@lotse/messaging' },
              spans: [
                {
                  traceId: '5B8EFFF798038103D269B633813FC60C',
                  spanId: 'EEE19B7EC3C1B174',
                  parentSpanId: 'EEE19B7EC3C1B173',
                  name: 'consume lotse.kv-mayen-koblenz.referral-requested',
                  kind: 5,
                  startTimeUnixNano: '1795268346541123456',
                  endTimeUnixNano: '1795268346581123456',
                  attributes: [
                    { key: 'messaging.destination.name', value: { stringValue: 'lotse.kv-mayen-koblenz.referral-requested' } },
                    { key: 'lotse.case_ref', value: { stringValue: 'C-ABC' } },
                    { key: 'lotse.event_type', value: { stringValue: 'ReferralRequested' } },
                    { key: 'lotse.delivery_count', value: { intValue: '2' } },
                    { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { boolValue: true }] } } },
                  ],
                  events: [{ timeUnixNano: '1795268346551123456', name: 'exception', attributes: [{ key: 'exception.message', value: { stringValue: 'boom' } }] }],
                  status: { code: 2, message: 'boom' },
                },
              ],
            },
          ],
        },
      ],
    });
    expect(rejected).toBe(0);
    expect(spans).toHaveLength(1);
    const s = spans[0]!;
    expect(s).toMatchObject({
      trace_id: '5b8efff798038103d269b633813fc60c',
      span_id: 'eee19b7ec3c1b174',
      parent_span_id: 'eee19b7ec3c1b173',
      service: 'lotsenhaus',
      kind: 5,
      start_us: 1795268346541123,
      duration_us: 40000,
      error: true,
      status_message: 'boom',
      case_ref: 'C-ABC',
      event_type: 'ReferralRequested',
      producer: 'kv-mayen-koblenz',
      caller: null,
    });
    expect(JSON.parse(s.attributes as string)).toMatchObject({ 'lotse.delivery_count': 2, tags: ['a', true] });
    expect(JSON.parse(s.events as string)).toEqual([{ timeUs: 1795268346551123, name: 'exception', attributes: { 'exception.message': 'boom' } }]);
  });

  it('marks a server span with a gRPC error status as an error and records its caller', () => {
    const { spans } = parseTraces({
      resourceSpans: [
        {
          resource: resource('kv-mayen-koblenz'),
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex').toString('base64'),
                  spanId: Buffer.from('eee19b7ec3c1b174', 'hex').toString('base64'),
                  name: 'lotse.foreign_office.v1.ForeignOfficeService/DiscloseNewcomerData',
                  kind: 'SPAN_KIND_SERVER',
                  startTimeUnixNano: 1795268346541000000,
                  endTimeUnixNano: 1795268346542000000,
                  attributes: [
                    { key: 'rpc.grpc.status_code', value: { intValue: 7 } },
                    { key: 'lotse.caller_agency', value: { stringValue: 'caritas-koblenz' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    // base64 ids (the protobuf JSON default of some encoders) become hex
    expect(spans[0]).toMatchObject({ trace_id: '5b8efff798038103d269b633813fc60c', span_id: 'eee19b7ec3c1b174', kind: 2, error: true, caller: 'caritas-koblenz', parent_span_id: null });
  });

  it('skips spans without valid ids and rejects a body that is not OTLP', () => {
    const { spans, rejected } = parseTraces({ resourceSpans: [{ resource: resource('x'), scopeSpans: [{ spans: [{ traceId: '', spanId: 'abc', name: 'bad' }] }] }] });
    expect(spans).toHaveLength(0);
    expect(rejected).toBe(1);
    expect(() => parseTraces({ resourceSpans: 'nope' })).toThrow(OtlpFormatError);
    expect(() => parseTraces('nope')).toThrow(OtlpFormatError);
    expect(parseTraces({}).spans).toEqual([]);
  });
});

describe('OTLP/HTTP JSON logs and metrics', () => {
  it('keeps a log line with its trace and span id and severity', () => {
    const rows = parseLogs({
      resourceLogs: [
        {
          resource: resource('caritas-koblenz'),
          scopeLogs: [
            {
              logRecords: [
                { timeUnixNano: '1795268346541000000', severityText: 'WARN', body: { stringValue: 'event handling failed; will retry' }, traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', attributes: [{ key: 'retry_in_ms', value: { intValue: '200' } }] },
                { observedTimeUnixNano: '1795268346542000000', severityNumber: 17, body: { kvlistValue: { values: [{ key: 'a', value: { intValue: 1 } }] } } },
              ],
            },
          ],
        },
      ],
    });
    expect(rows[0]).toMatchObject({ service: 'caritas-koblenz', severity_number: 13, severity_text: 'WARN', body: 'event handling failed; will retry', trace_id: '5b8efff798038103d269b633813fc60c', span_id: 'eee19b7ec3c1b174', time_us: 1795268346541000 });
    expect(rows[1]).toMatchObject({ severity_number: 17, body: '{"a":1}', trace_id: null, time_us: 1795268346542000 });
  });

  it('reads gauges, sums and histograms', () => {
    const rows = parseMetrics({
      resourceMetrics: [
        {
          resource: resource('lotsenhaus'),
          scopeMetrics: [
            {
              metrics: [
                { name: 'lotse.outbox.backlog', gauge: { dataPoints: [{ timeUnixNano: '1795268346541000000', asInt: '3' }] } },
                { name: 'lotse.events.consumed', sum: { dataPoints: [{ timeUnixNano: '1795268346541000000', asDouble: 12, attributes: [{ key: 'lotse.outcome', value: { stringValue: 'handled' } }] }] } },
                { name: 'rpc.server.duration', unit: 'ms', histogram: { dataPoints: [{ timeUnixNano: '1795268346541000000', count: '4', sum: 10 }] } },
              ],
            },
          ],
        },
      ],
    });
    expect(rows.map((r) => [r.name, r.kind, r.value, r.count])).toEqual([
      ['lotse.outbox.backlog', 'gauge', 3, null],
      ['lotse.events.consumed', 'sum', 12, null],
      ['rpc.server.duration', 'histogram', 2.5, 4],
    ]);
    expect(JSON.parse(rows[1]!.attributes as string)).toEqual({ 'lotse.outcome': 'handled' });
  });
});

describe('helpers', () => {
  it('converts nanoseconds without losing precision and reads the producer of a subject', () => {
    expect(nanosToMicros('1795268346541123999')).toBe(1795268346541123);
    expect(nanosToMicros('999')).toBe(0);
    expect(hexId('00000000000000000000000000000000', 16)).toBeNull();
    expect(producerOfSubject('lotse.lotsenhaus.referral-routed.caritas-koblenz')).toBe('lotsenhaus');
    expect(producerOfSubject('other.subject')).toBeNull();
  });
});
