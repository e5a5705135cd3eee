import { envelope } from '@lotse/contracts';
import type { Kysely, Transaction } from 'kysely';
import type { EventSignature } from './signing.js';
import { messagingDb } from './tables.js';

export type Envelope = envelope.Envelope;

/** What a handler gets: the decoded envelope (its payload still encoded) and delivery facts. */
export interface ConsumedEvent {
  envelope: Envelope;
  subject: string;
  headers: Record<string, string[]>;
  /** 1 on the first delivery; a handler may log it, never branch its effect on it. */
  deliveryCount: number;
  /** The producer's verified signature and the bytes it covers; applied_event keeps both. */
  signed?: { signature: EventSignature; data: Uint8Array };
}

/** Runs inside the transaction that records the event as applied: write the effect with `trx` only; throw to roll back and retry. */
export type EventHandler<DB = any> = (trx: Transaction<DB>, event: ConsumedEvent) => Promise<void>;

export type ApplyOutcome = 'handled' | 'duplicate';

export class MalformedEventError extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(`malformed event: ${reason}`, options);
    this.name = 'MalformedEventError';
  }
}

/** Decodes the wire bytes; bytes that happen to parse but carry no id or type count as malformed too. */
export function decodeEnvelope(data: Uint8Array): Envelope {
  let decoded: Envelope;
  try {
    decoded = envelope.Envelope.decode(data);
  } catch (err) {
    throw new MalformedEventError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  if (!decoded.eventId) throw new MalformedEventError('no event id');
  if (!decoded.eventType) throw new MalformedEventError('no event type');
  return decoded;
}

/**
 * Records the event in applied_event and runs the handler in the same transaction; an event already
 * there is skipped. A concurrent second delivery waits on the first one's uncommitted key, then
 * finds it and skips, so the effect happens once even when deliveries overlap.
 */
export async function applyInTransaction<DB>(
  trx: Transaction<DB>,
  consumer: string,
  event: ConsumedEvent,
  handle: EventHandler<DB>,
): Promise<ApplyOutcome> {
  const [outcome] = await applyAllInTransaction(trx, consumer, [event], handle);
  return outcome!;
}

/**
 * Events in one transaction (several when a consumer fell behind): one applied_event insert for all of
 * them, then the handler of each new one, in order, each inside `within(i, …)` (e.g. its own span
 * context). An event id that is already in applied_event, or twice in the batch, is a duplicate.
 */
export async function applyAllInTransaction<DB>(
  trx: Transaction<DB>,
  consumer: string,
  events: ConsumedEvent[],
  handle: EventHandler<DB>,
  within: (index: number, run: () => Promise<void>) => Promise<void> = (_, run) => run(),
): Promise<ApplyOutcome[]> {
  const inserted = await messagingDb(trx as Kysely<any>)
    .insertInto('applied_event')
    .values(
      events.map((event) => ({
        consumer,
        event_id: event.envelope.eventId,
        subject: event.subject,
        signature: event.signed?.signature.signature ?? null,
        signer_certificate: event.signed?.signature.certificate ?? null,
        envelope: event.signed ? Buffer.from(event.signed.data) : null,
      })),
    )
    .onConflict((oc) => oc.columns(['consumer', 'event_id']).doNothing())
    .returning('event_id')
    .execute();
  const fresh = new Set(inserted.map((row) => row.event_id));
  const outcomes: ApplyOutcome[] = [];
  for (const [index, event] of events.entries()) {
    // delete: a second copy of the same id later in the batch is a duplicate.
    if (!fresh.delete(event.envelope.eventId)) {
      outcomes.push('duplicate');
      continue;
    }
    await within(index, () => handle(trx, event));
    outcomes.push('handled');
  }
  return outcomes;
}

export function applyOnce<DB>(db: Kysely<DB>, consumer: string, event: ConsumedEvent, handle: EventHandler<DB>): Promise<ApplyOutcome> {
  return db.transaction().execute((trx) => applyInTransaction(trx, consumer, event, handle));
}
