import type { Transaction } from '@lotse/db';
import type { envelope } from '@lotse/contracts';

interface Decoder<T> {
  decode(input: Uint8Array): T;
}

export interface ReceivedEvent {
  envelope: envelope.Envelope;
  subject: string;
}

type Handler<DB, T> = (trx: Transaction<DB>, message: T, env: envelope.Envelope) => Promise<void>;

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
 * Builds a subscription from pairs of codec and handler, keyed by event type. Types the service
 * has no handler for are acknowledged and skipped: a newer producer may add events.
 */
export function subscribe<DB>(
  producerAgencyId: string,
  filterSubject: string,
  handlers: { [eventType: string]: [Decoder<any>, Handler<DB, any>] },
  options: { module?: string } = {},
): Subscription<DB> {
  return {
    producerAgencyId,
    filterSubject,
    ...(options.module && { module: options.module }),
    async handle(trx, event) {
      const entry = handlers[event.envelope.eventType];
      if (!entry) return;
      const [codec, handler] = entry;
      await handler(trx, codec.decode(event.envelope.payload), event.envelope);
    },
  };
}

/** Pairs a codec with a handler while keeping the message type checked. */
export function on<DB, T>(codec: Decoder<T>, handler: Handler<DB, T>): [Decoder<T>, Handler<DB, T>] {
  return [codec, handler];
}
