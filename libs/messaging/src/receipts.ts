// Receipts: which events a recipient has taken in, asked by event id. The broker may lose a stream's
// messages without anything the relay can notice (an operator purges a stream whose events wait
// unconsumed); for events that have no natural answer only the recipient knows whether they arrived.
// The recipient side reads its applied and parked events; the producer side keeps, per recipient,
// which of its events were confirmed and how often the others were sent again.
import { sql, type Kysely } from 'kysely';
import { republishEvents } from './outbox.js';
import { messagingDb } from './tables.js';

/**
 * Of `eventIds`, those this deployment holds — applied (applied_event, any of its consumers) or parked
 * (an operator decides on them, so sending them again would not help) — for events under the
 * producer's own subjects (`lotse.<producer>.…`). Ids of any other producer's events are never
 * answered, so a caller learns nothing about events that are not its own.
 */
export async function receivedEventIds(db: Kysely<any>, producerAgencyId: string, eventIds: readonly string[]): Promise<string[]> {
  if (eventIds.length === 0) return [];
  const ids = [...new Set(eventIds)];
  // parked_message has no index on event_id: it holds what failed, a handful of rows.
  const { rows } = await sql<{ event_id: string }>`
    select event_id from applied_event where event_id = any(${ids}::text[]) and split_part(subject, '.', 2) = ${producerAgencyId}
    union
    select event_id from parked_message where event_id = any(${ids}::text[]) and split_part(subject, '.', 2) = ${producerAgencyId}`.execute(db);
  return rows.map((r) => r.event_id);
}

export interface DueReceipt {
  eventId: string;
  eventType: string;
  /** Sends again so far. */
  sends: number;
}

export interface DueReceipts {
  /** Oldest first, at most `limit`. */
  due: DueReceipt[];
  /**
   * The oldest creation time, since `since`, of an event of the types that is not due yet (not
   * published, or published after `publishedBefore`); null when there is none. A caller that
   * scans from `since` on may move `since` up to it (and to `publishedBefore`): nothing older is
   * left to ask about for the first time.
   */
  notDueFrom: Date | null;
}

/**
 * Events to ask a recipient about, oldest first: published before `publishedBefore` (a send again
 * publishes anew, so this is also the wait after each send), of `eventTypes`, not confirmed, sent
 * again fewer than `maxAttempts` times. Events never asked about are looked for only since `since`:
 * the outbox keeps every event, and the created_at index lets a caller that moves `since` forward
 * (see notDueFrom) read only its recent end. Two queries over that range and the open receipts.
 */
export async function dueReceipts(
  db: Kysely<any>,
  options: { recipient: string; eventTypes: readonly string[]; publishedBefore: Date; since: Date; maxAttempts: number; limit: number },
): Promise<DueReceipts> {
  if (options.eventTypes.length === 0) return { due: [], notDueFrom: null };
  const types = [...options.eventTypes];
  const { rows } = await sql<{ event_id: string; event_type: string; sends: number; created_at: Date }>`
    select o.event_id, o.event_type, 0 as sends, o.created_at
      from outbox o
     where o.created_at >= ${options.since} and o.event_type = any(${types}::text[])
       and o.published_at < ${options.publishedBefore}
       and not exists (select 1 from outbox_receipt r where r.recipient = ${options.recipient} and r.event_id = o.event_id)
    union all
    select o.event_id, o.event_type, r.sends, o.created_at
      from outbox_receipt r
      join outbox o on o.event_id = r.event_id
     where r.recipient = ${options.recipient} and r.confirmed_at is null and r.sends < ${options.maxAttempts}
       and o.published_at < ${options.publishedBefore}
     order by created_at
     limit ${options.limit}`.execute(db);
  const pending = await sql<{ oldest: Date | null }>`
    select min(created_at) as oldest from outbox
     where created_at >= ${options.since} and event_type = any(${types}::text[])
       and (published_at is null or published_at >= ${options.publishedBefore})`.execute(db);
  const oldest = pending.rows[0]?.oldest;
  return {
    due: rows.map((r) => ({ eventId: r.event_id, eventType: r.event_type, sends: Number(r.sends) })),
    notDueFrom: oldest ? new Date(oldest) : null,
  };
}

/**
 * Records what the recipient answered, in the caller's transaction: `confirmed` are done; `missing`
 * go out again from the outbox (under `<event id>~<n>`, see republishEvents) and count a send.
 */
export async function recordReceipts(trx: Kysely<any>, recipient: string, answer: { confirmed: readonly string[]; missing: readonly string[]; at: Date }): Promise<void> {
  const db = messagingDb(trx);
  if (answer.confirmed.length > 0) {
    await db
      .insertInto('outbox_receipt')
      .values(answer.confirmed.map((event_id) => ({ recipient, event_id, asked_at: answer.at, confirmed_at: answer.at })))
      .onConflict((oc) => oc.columns(['recipient', 'event_id']).doUpdateSet({ asked_at: answer.at, confirmed_at: answer.at }))
      .execute();
  }
  if (answer.missing.length > 0) {
    await republishEvents(trx, answer.missing);
    await db
      .insertInto('outbox_receipt')
      .values(answer.missing.map((event_id) => ({ recipient, event_id, sends: 1, asked_at: answer.at })))
      .onConflict((oc) => oc.columns(['recipient', 'event_id']).doUpdateSet((eb) => ({ asked_at: answer.at, sends: eb('outbox_receipt.sends', '+', 1) })))
      .execute();
  }
}

export interface OpenReceipts {
  eventType: string;
  /** Asked about and not confirmed (sent again at least once). */
  waiting: number;
  /** Of them, sent again `maxAttempts` times: no longer sent, for an operator to look at. */
  stuck: number;
  oldestAt: Date | null;
}

/** What a recipient has not confirmed, per event type (the operator's GetOutboxStatus). */
export async function openReceipts(db: Kysely<any>, recipient: string, maxAttempts: number): Promise<OpenReceipts[]> {
  const { rows } = await sql<{ event_type: string; waiting: number; stuck: number; oldest: Date | null }>`
    select o.event_type, count(*)::int as waiting, count(*) filter (where r.sends >= ${maxAttempts})::int as stuck, min(o.created_at) as oldest
      from outbox_receipt r
      join outbox o on o.event_id = r.event_id
     where r.recipient = ${recipient} and r.confirmed_at is null
     group by o.event_type
     order by o.event_type`.execute(db);
  return rows.map((r) => ({ eventType: r.event_type, waiting: Number(r.waiting), stuck: Number(r.stuck), oldestAt: r.oldest ? new Date(r.oldest) : null }));
}
