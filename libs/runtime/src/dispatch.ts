import type { Transaction } from '@lotse/db';
import { eventTypeOf, type envelope } from '@lotse/contracts';
import { eventSubject } from '@lotse/messaging';

interface Decoder<T> {
  decode(input: Uint8Array): T;
}

export interface ReceivedEvent {
  envelope: envelope.Envelope;
  subject: string;
}

type Handler<DB, T> = (trx: Transaction<DB>, message: T, env: envelope.Envelope) => Promise<void>;

/** One event type a subscription handles: the type (its codec's message name), how to decode it, what to do. */
export interface EventHandler<DB> {
  eventType: string;
  codec: Decoder<unknown>;
  handle: Handler<DB, any>;
}

/** Events of one producer's stream that a service consumes, and how it handles each type. */
export interface Subscription<DB> {
  producerAgencyId: string;
  filterSubject: string;
  /**
   * A module of its own in the deployment (the hub's one-stop desk): its events apply under a dedup
   * key of its own (deployment:module), so another subscription of the deployment that receives the
   * same event does not make this one drop it as already applied.
   */
  module?: string;
  handle(trx: Transaction<DB>, event: ReceivedEvent): Promise<void>;
}

/**
 * Builds a subscription from a list of handlers (`on(codec, fn)`), keyed by their codecs' event
 * types. Types the service has no handler for are acknowledged and skipped: a newer producer may
 * add events. Two handlers for one type are refused here, when the deployment is put together:
 * one of them would never run.
 */
export function subscribe<DB>(
  producerAgencyId: string,
  filterSubject: string,
  handlers: readonly EventHandler<DB>[],
  options: { module?: string } = {},
): Subscription<DB> {
  const byType = new Map<string, EventHandler<DB>>();
  for (const h of handlers) {
    if (byType.has(h.eventType)) throw new Error(`two handlers for ${h.eventType} in the subscription to ${filterSubject} of ${producerAgencyId}'s stream`);
    byType.set(h.eventType, h);
  }
  return {
    producerAgencyId,
    filterSubject,
    ...(options.module && { module: options.module }),
    async handle(trx, event) {
      const entry = byType.get(event.envelope.eventType);
      if (!entry) return;
      await entry.handle(trx, entry.codec.decode(event.envelope.payload), event.envelope);
    },
  };
}

/** A handler of the event its generated codec decodes, with the message type checked; the type name comes from the codec. */
export function on<DB, T>(codec: Decoder<T>, handler: Handler<DB, T>): EventHandler<DB> {
  return { eventType: eventTypeOf(codec), codec, handle: handler };
}

/** The subject of one event type (its generated codec): `lotse.<producer>.<event-type>[.<audience>]`, the name taken from the codec. */
export function subjectOf(producerAgencyId: string, codec: object, audience?: string): string {
  return eventSubject(producerAgencyId, eventTypeOf(codec), audience);
}
