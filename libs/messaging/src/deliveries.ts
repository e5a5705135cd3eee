import type { JsMsg } from '@nats-io/jetstream';
import { ROOT_CONTEXT, SpanKind, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import type { Logger } from '@lotse/logger';
import { decodeEnvelope, type ApplyOutcome, type ConsumedEvent } from './apply-once.js';
import { countConsumed } from './metrics.js';
import type { EventVerifier } from './signing.js';
import { eventAttributes } from './span-attributes.js';
import { headersToRecord, msgHdrsGetter } from './trace-headers.js';

const tracer = trace.getTracer('@lotse/messaging');

/** One message being processed: its consume span and the context its handler runs in. */
export interface Delivery {
  m: JsMsg;
  headers: Record<string, string[]>;
  deliveryCount: number;
  span: Span;
  context: Context;
}

/** The consume span of one delivery, a child of the producer's trace (from the message headers). */
export function startDelivery(m: JsMsg, consumer: string): Delivery {
  const deliveryCount = m.info.deliveryCount;
  const headers = headersToRecord(m.headers);
  const parent = propagation.extract(ROOT_CONTEXT, m.headers, msgHdrsGetter);
  const span = tracer.startSpan(
    `consume ${m.subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': m.subject,
        'messaging.consumer.group.name': consumer,
        'lotse.delivery_count': deliveryCount,
      },
    },
    parent,
  );
  return { m, headers, deliveryCount, span, context: trace.setSpan(parent, span) };
}

/** Decodes the message (throws MalformedEventError) and names the event on its span. */
export function consumedEvent(d: Delivery, verifier: EventVerifier | undefined, extra: Record<string, number> = {}): ConsumedEvent {
  // The signature first, over the bytes as they arrived: nothing of a forgery is decoded for use.
  const signature = verifier?.verify(d.m.subject, d.m.data, d.headers);
  const envelope = decodeEnvelope(d.m.data);
  d.span.setAttributes({ ...eventAttributes(envelope), ...extra });
  if (signature) {
    verifier!.checkEnvelope(signature, envelope);
    d.span.setAttribute('lotse.signer', signature.deploymentId);
  }
  return {
    envelope,
    subject: d.m.subject,
    headers: d.headers,
    deliveryCount: d.deliveryCount,
    ...(signature && { signed: { signature, data: d.m.data } }),
  };
}

/** After the commit (or a duplicate found): acks the message and counts the outcome. */
export function acknowledge(d: Delivery, event: ConsumedEvent, outcome: ApplyOutcome, logger: Logger, notifyCommitted: (event: ConsumedEvent) => void): void {
  // Ack only after the commit: if we die in between, the redelivery meets the applied_event row.
  d.m.ack();
  const counted = outcome === 'handled' ? 'applied' : 'duplicate';
  d.span.setAttribute('lotse.outcome', counted);
  countConsumed(d.m.subject, event.envelope.eventType, counted);
  if (outcome === 'duplicate') logger.debug({ event_id: event.envelope.eventId, subject: d.m.subject }, 'duplicate event skipped');
  else notifyCommitted(event);
}
