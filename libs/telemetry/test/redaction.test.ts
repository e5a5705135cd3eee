import { ROOT_CONTEXT } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { isPersonalDataKey, personalDataKeyMatcher, RedactingLogRecordProcessor, RedactingSpanProcessor } from '../src/index.js';

describe('isPersonalDataKey', () => {
  it.each([
    'newcomer.family_name',
    'newcomer.given_names',
    'newcomer.birth_date',
    'name',
    'guardian.name',
    'contact.email',
    'case.contact_email',
    'newcomer.phone',
    'newcomer.phone_number',
    'newcomer.address',
    'newcomer.familyName',
    'NEWCOMER.FAMILY-NAME',
    'user.name',
    'user.email',
    'newcomer.languages',
    'newcomer.nationality',
  ])('denies %s', (key) => expect(isPersonalDataKey(key)).toBe(true));

  it.each(['lotse.case_ref', 'lotse.agency_id', 'server.address', 'network.peer.address', 'messaging.destination.name', 'db.operation.name', 'rpc.method', 'service.name', 'newcomer.nationality_code'])(
    'keeps %s',
    (key) => expect(isPersonalDataKey(key)).toBe(false),
  );

  it('takes its own deny-list', () => {
    const matches = personalDataKeyMatcher(['residence_permit']);
    expect(matches('newcomer.residence_permit')).toBe(true);
    expect(matches('newcomer.family_name')).toBe(false);
  });
});

describe('RedactingSpanProcessor', () => {
  it('passes clean spans through untouched and redacts copies of the others', () => {
    const exporter = new InMemorySpanExporter();
    const processor = new RedactingSpanProcessor(new SimpleSpanProcessor(exporter));
    const clean = fakeSpan({ 'lotse.case_ref': 'C-1' });
    const dirty = fakeSpan({ 'lotse.case_ref': 'C-1', 'newcomer.family_name': 'Mustermann' }, { 'newcomer.email': 'x@example.org' });

    processor.onEnd(clean);
    processor.onEnd(dirty);

    const [first, second] = exporter.getFinishedSpans();
    expect(first).toBe(clean);
    expect(second?.attributes).toEqual({ 'lotse.case_ref': 'C-1', 'lotse.redacted_keys': ['newcomer.email', 'newcomer.family_name'] });
    expect(second?.links[0]?.attributes).toEqual({});
    expect(second?.spanContext()).toEqual(dirty.spanContext());
    // The original is not modified: only what leaves the process is filtered.
    expect(dirty.attributes['newcomer.family_name']).toBe('Mustermann');
  });

  it('delegates lifecycle calls', async () => {
    const calls: string[] = [];
    const next: SpanProcessor = {
      onStart: () => calls.push('start'),
      onEnd: () => calls.push('end'),
      forceFlush: async () => void calls.push('flush'),
      shutdown: async () => void calls.push('shutdown'),
    };
    const processor = new RedactingSpanProcessor(next);
    processor.onStart({} as never, ROOT_CONTEXT);
    processor.onEnd(fakeSpan({}));
    await processor.forceFlush();
    await processor.shutdown();
    expect(calls).toEqual(['start', 'end', 'flush', 'shutdown']);
  });
});

describe('RedactingLogRecordProcessor', () => {
  it('drops personal-data attributes from log records and names them; clean records pass unchanged', () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ processors: [new RedactingLogRecordProcessor(new SimpleLogRecordProcessor({ exporter }))] });
    const logger = provider.getLogger('test');
    logger.emit({ body: 'clean', attributes: { 'lotse.case_ref': 'C-1', 'server.address': 'hub' } });
    logger.emit({ body: 'dirty', attributes: { 'lotse.case_ref': 'C-1', 'newcomer.birth_date': '1990-01-01', guardianPhone: '0151', name: 'Erika' } });
    const [clean, dirty] = exporter.getFinishedLogRecords();
    expect(clean?.attributes).toEqual({ 'lotse.case_ref': 'C-1', 'server.address': 'hub' });
    expect(dirty?.attributes).toEqual({ 'lotse.case_ref': 'C-1', 'lotse.redacted_keys': ['guardianPhone', 'name', 'newcomer.birth_date'] });
    expect(dirty?.body).toBe('dirty');
  });

  it('takes its own deny-list and asks the next processor whether it is enabled', () => {
    const exporter = new InMemoryLogRecordExporter();
    const next = new SimpleLogRecordProcessor({ exporter });
    const provider = new LoggerProvider({ processors: [new RedactingLogRecordProcessor(next, ['residence_permit'])] });
    provider.getLogger('test').emit({ attributes: { 'newcomer.residence_permit': 'x', 'newcomer.family_name': 'kept by this list' } });
    expect(exporter.getFinishedLogRecords()[0]?.attributes).toEqual({
      'newcomer.family_name': 'kept by this list',
      'lotse.redacted_keys': ['newcomer.residence_permit'],
    });
  });
});

function fakeSpan(attributes: ReadableSpan['attributes'], linkAttributes?: ReadableSpan['attributes']): ReadableSpan {
  const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
  return {
    name: 'test',
    kind: 0,
    spanContext: () => spanContext,
    startTime: [0, 0],
    endTime: [0, 1],
    status: { code: 0 },
    attributes,
    links: linkAttributes ? [{ context: spanContext, attributes: linkAttributes }] : [],
    events: [],
    duration: [0, 1],
    ended: true,
    resource: { attributes: {} } as ReadableSpan['resource'],
    instrumentationScope: { name: 'test' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
