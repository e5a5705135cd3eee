import type { JsMsg } from '@nats-io/jetstream';
import { ROOT_CONTEXT, SpanKind, propagation, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';
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
  const span = startConsumeSpan(`consume ${m.subject}`, m.subject, consumer, parent, { 'lotse.delivery_count': deliveryCount });
  return { m, headers, deliveryCount, span, context: trace.setSpan(parent, span) };
}

/** A consumer span of the messaging conventions, for a delivery or an operator's replay of one. */
export function startConsumeSpan(name: string, subject: string, consumer: string, parent: Context, attributes: Attributes, links?: Link[]): Span {
  return tracer.startSpan(
    name,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': subject,
        'messaging.consumer.group.name': consumer,
        ...attributes,
      },
      ...(links ? { links } : {}),
    },
    parent,
  );
}

/** Decodes the message (throws MalformedEventError) and names the event on its span. */
export function consumedEvent(d: Delivery, verifier: EventVerifier | undefined, extra: Record<string, number> = {}): ConsumedEvent {
  return verifiedEvent({ subject: d.m.subject, data: d.m.data, headers: d.headers, deliveryCount: d.deliveryCount }, d.span, verifier, extra);
}

/**
 * The event of a message's bytes, checked as a delivery is checked (a replay too: an operator
 * cannot apply what the signature refuses), named on the span.
 */
export function verifiedEvent(
  message: { subject: string; data: Uint8Array; headers: Record<string, string[]>; deliveryCount: number },
  span: Span,
  verifier: EventVerifier | undefined,
  extra: Record<string, number> = {},
): ConsumedEvent {
  // The signature first, over the bytes as they arrived: nothing of a forgery is decoded for use.
  const signature = verifier?.verify(message.subject, message.data, message.headers);
  const envelope = decodeEnvelope(message.data);
  span.setAttributes({ ...eventAttributes(envelope), ...extra });
  if (signature) {
    verifier!.checkEnvelope(signature, envelope);
    span.setAttribute('lotse.signer', signature.deploymentId);
  }
  return {
    envelope,
    subject: message.subject,
    headers: message.headers,
    deliveryCount: message.deliveryCount,
    ...(signature && { signed: { signature, data: message.data } }),
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
