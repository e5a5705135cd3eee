import { envelope } from '@lotse/contracts';
import { sql, type Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { eventSubject } from './naming.js';
import { messagingDb } from './tables.js';
import { captureTraceContext } from './trace-headers.js';

export const envelopeSchemaVersion = 1;

export interface NewEvent {
  producerAgencyId: string;
  /** Past-tense message name, e.g. "ReferralRouted"; also names the subject. */
  eventType: string;
  caseRef: string;
  /** The encoded event message (the Envelope's payload). */
  payload: Uint8Array;
  /** Recipient agency, appended to the subject so it can filter on it. */
  audience?: string;
}

/** Any ts-proto message object (`events.ReferralRouted` etc.). */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
}

let outboxWrites = 0;

/**
 * How many times this process has written rows for the relay to send (new events, events marked
 * for sending again), counted when the statement ran, whether or not its transaction commits.
 * A caller that compares the count before and after its transaction knows whether the relay has
 * anything new to look for: waking it after every commit made most of the foreign office's relay
 * selects find nothing (5.9 selects per journey for 1.1 events). Process-wide, so concurrent
 * transactions only ever cause a wake-up too many, never one too few.
 */
export function outboxWriteCount(): number {
  return outboxWrites;
}

/** For this library's own writers of rows the relay sends (the stream reconciler). */
export function noteOutboxWrite(): void {
  outboxWrites++;
}

/**
 * Writes the event into the outbox within the caller's transaction, so it exists exactly when the
 * state change does. Pass the transaction (`trx`), never the database: with the embedded
 * single-connection database a second handle waits for the open transaction forever.
 * Returns the event id (UUIDv7, also the Nats-Msg-Id and what every consumer's applied_event row is keyed by).
 */
export async function enqueueEvent(trx: Kysely<any>, event: NewEvent): Promise<string> {
  noteOutboxWrite();
  const eventId = uuidv7();
  const subject = eventSubject(event.producerAgencyId, event.eventType, event.audience);
  const bytes = envelope.Envelope.encode({
    eventId,
    eventType: event.eventType,
    occurredAt: new Date(),
    producerAgencyId: event.producerAgencyId,
    caseRef: event.caseRef,
    schemaVersion: envelopeSchemaVersion,
    payload: Buffer.from(event.payload),
  }).finish();
  await messagingDb(trx)
    .insertInto('outbox')
    .values({
      event_id: eventId,
      subject,
      event_type: event.eventType,
      case_ref: event.caseRef,
      payload: Buffer.from(bytes),
      // The relay runs later, outside this request; the stored context lets its publish span and
      // every consumer join the trace of the call that caused the event.
      headers: JSON.stringify(captureTraceContext()),
      published_at: null,
    })
    .execute();
  return eventId;
}

/** Typed form: `enqueue(trx, 'lotsenhaus', events.ReferralRouted, 'ReferralRouted', msg, caseRef, providerId)`. */
export function enqueue<T>(
  trx: Kysely<any>,
  producerAgencyId: string,
  codec: MessageCodec<T>,
  eventType: string,
  message: T,
  caseRef: string,
  audience?: string,
): Promise<string> {
  return enqueueEvent(trx, { producerAgencyId, eventType, caseRef, payload: codec.encode(message).finish(), audience });
}

/**
 * Reconciliation: marks events created since `since` as unpublished, so the relay sends them
 * again. Within the stream's duplicate window JetStream drops the copies; after it, consumers'
 * applied_event tables do. Returns how many rows were reset.
 */
export async function republishSince(db: Kysely<any>, since: Date): Promise<number> {
  noteOutboxWrite();
  const result = await messagingDb(db)
    .updateTable('outbox')
    .set({ published_at: null })
    .where('created_at', '>=', since)
    .where('published_at', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Same for named events (e.g. those a recipient never answered). They go out under a new
 * Nats-Msg-Id (see messaging_0004), so a broker that still remembers the id within its duplicate
 * window (a purged stream does) stores the copy; consumers drop it by the event id if they had it.
 */
export async function republishEvents(db: Kysely<any>, eventIds: readonly string[]): Promise<number> {
  if (eventIds.length === 0) return 0;
  noteOutboxWrite();
  const result = await messagingDb(db)
    .updateTable('outbox')
    .set((eb) => ({ published_at: null, resends: eb('resends', '+', 1) }))
    .where('event_id', 'in', eventIds)
    .where('published_at', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Number of events not yet acknowledged by the broker (health and metrics). */
export async function outboxBacklog(db: Kysely<any>): Promise<number> {
  const row = await messagingDb(db)
    .selectFrom('outbox')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('published_at', 'is', null)
    .executeTakeFirstOrThrow();
  return row.n;
}

/** What waits in this deployment's outbox and parking: for the operator's GetOutboxStatus. */
export async function outboxStatus(db: Kysely<any>): Promise<{ backlog: number; oldest: Date | null; parked: number }> {
  const { rows } = await sql<{ backlog: number; oldest: Date | null; parked: number }>`
    select (select count(*)::int from outbox where published_at is null) as backlog,
           (select min(created_at) from outbox where published_at is null) as oldest,
           (select count(*)::int from parked_message where replayed_at is null and discarded_at is null) as parked`.execute(db);
  return rows[0]!;
}

/** The Nats-Msg-Id of an outbox row: its event id, and a count once it was sent again. */
export const msgIdOf = (row: { event_id: string; resends: number }): string => (row.resends > 0 ? `${row.event_id}~${row.resends}` : row.event_id);

/**
 * Rewrites the payloads of events in the producer's outbox (an erasure that reaches events it
 * keeps): `rewrite` receives each event message of that type in the case and returns the new
 * message, or undefined to leave it. The outbox and its envelope stay this module's business;
 * the caller sees only its own messages. Returns how many were rewritten.
 */
export async function rewriteOutboxPayloads(
  trx: Kysely<any>,
  filter: { caseRef: string; eventType: string },
  rewrite: (payload: Uint8Array) => Uint8Array | undefined,
): Promise<number> {
  const db = messagingDb(trx);
  const rows = await db.selectFrom('outbox').select(['event_id', 'payload']).where('case_ref', '=', filter.caseRef).where('event_type', '=', filter.eventType).execute();
  let rewritten = 0;
  for (const row of rows) {
    const env = envelope.Envelope.decode(row.payload);
    const payload = rewrite(env.payload);
    if (!payload) continue;
    const bytes = envelope.Envelope.encode({ ...env, payload: Buffer.from(payload) }).finish();
    await db.updateTable('outbox').set({ payload: Buffer.from(bytes) }).where('event_id', '=', row.event_id).execute();
    rewritten++;
  }
  return rewritten;
}
