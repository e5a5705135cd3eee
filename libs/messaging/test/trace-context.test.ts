import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { shutdownTelemetry, startTelemetry } from '@lotse/telemetry';
import {
  enqueueEvent,
  eventSubject,
  OutboxRelay,
  startConsumer,
  type ConsumerHandle,
} from '../src/index.js';
import { logger, randomAgencyId, setupSuite, waitFor, type Suite } from './support.js';

// The SDK as the telemetry preload sets it up (redaction included), for this file only (vitest
// runs each file in its own process).
const exporter = new InMemorySpanExporter();
startTelemetry({ serviceName: 'messaging-test', exporter, simple: true });

describe('trace context across the outbox and the bus', () => {
  let suite: Suite;
  let relay: OutboxRelay;
  let consumer: ConsumerHandle;
  const producer = randomAgencyId();
  const recipient = randomAgencyId();

  beforeAll(async () => {
    suite = await setupSuite();
    suite.agencies.push(producer, recipient);
    relay = new OutboxRelay({ db: suite.db, js: suite.nats.js, logger, producerAgencyId: producer, pollIntervalMs: 50 });
    relay.start();
  });
  afterAll(async () => {
    await consumer?.stop();
    await relay?.stop();
    await suite?.cleanup();
    await shutdownTelemetry();
  });

  it('continues the enqueuing request trace in the publish span, the consumer span and events the handler enqueues', async () => {
    let handlerTraceId: string | undefined;
    let followUpId: string | undefined;
    consumer = await startConsumer({
      db: suite.db,
      js: suite.nats.js,
      jsm: suite.nats.jsm,
      logger,
      durableName: recipient,
      producerAgencyId: producer,
      filterSubjects: [eventSubject(producer, 'ReferralRouted', recipient)],
      handle: async (trx, event) => {
        handlerTraceId = trace.getActiveSpan()?.spanContext().traceId;
        // An event the handler produces carries the same trace onwards.
        followUpId = await enqueueEvent(trx, { producerAgencyId: recipient, eventType: 'ReferralReceived', caseRef: event.envelope.caseRef, payload: new Uint8Array() });
      },
    });

    const tracer = trace.getTracer('test');
    const { traceId, spanId } = await tracer.startActiveSpan('grpc RouteReferral', async (span) => {
      await suite.db.transaction().execute((trx) =>
        enqueueEvent(trx, { producerAgencyId: producer, eventType: 'ReferralRouted', caseRef: 'case-7', payload: new Uint8Array([7]), audience: recipient }),
      );
      span.end();
      return span.spanContext();
    });
    relay.notify();

    await waitFor(() => followUpId !== undefined, 10_000, 'handler');
    expect(handlerTraceId).toBe(traceId);

    // The handler sets the id inside its transaction; the row is there once that committed (and,
    // should the first attempt roll back, under the id of the attempt that did).
    let stored: { headers: Record<string, string> } | undefined;
    await waitFor(async () => (stored = await suite.db.selectFrom('outbox').select('headers').where('event_id', '=', followUpId!).executeTakeFirst()) !== undefined, 10_000, 'the follow-up event committed');
    if (!stored) throw new Error('unreachable');
    expect(stored.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    const subject = eventSubject(producer, 'ReferralRouted', recipient);
    // The publish span ends after the broker's ack, possibly after the consumer's.
    const finished = (name: string) => exporter.getFinishedSpans().some((s) => s.name === name);
    await waitFor(() => finished(`consume ${subject}`) && finished(`publish ${subject}`), 5_000, 'publish and consume spans');
    const spans = exporter.getFinishedSpans();
    const publish = spans.find((s) => s.name === `publish ${subject}`)!;
    const consume = spans.find((s) => s.name === `consume ${subject}`)!;
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(publish.spanContext().traceId).toBe(traceId);
    expect(publish.parentSpanContext?.spanId).toBe(spanId);
    expect(consume.kind).toBe(SpanKind.CONSUMER);
    expect(consume.spanContext().traceId).toBe(traceId);
    expect(consume.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    const eventId = (await suite.db.selectFrom('outbox').select('event_id').where('subject', '=', subject).executeTakeFirstOrThrow()).event_id;
    // Both ends name the case, the event and the subject, so the console can find them by any of these.
    const eventFacts = {
      'messaging.system': 'nats',
      'messaging.destination.name': subject,
      'lotse.case_ref': 'case-7',
      'lotse.event_type': 'ReferralRouted',
      'lotse.event_id': eventId,
      'messaging.message.id': eventId,
    };
    expect(publish.attributes).toMatchObject(eventFacts);
    expect(consume.attributes).toMatchObject({ ...eventFacts, 'lotse.delivery_count': 1, 'lotse.outcome': 'applied' });
    expect(publish.resource.attributes['service.name']).toBe('messaging-test');
    // The handler's own statements are children of the consume span.
    expect(spans.some((s) => s.name.startsWith('pg INSERT') && s.parentSpanContext?.spanId === consume.spanContext().spanId)).toBe(true);
    // No payload in any span.
    for (const s of [publish, consume]) expect(Object.keys(s.attributes).some((k) => k.includes('payload'))).toBe(false);
  });
});
