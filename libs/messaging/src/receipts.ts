// Receipts: which events a recipient has taken in, asked by event id. The broker may lose a stream's
// messages without anything the relay can notice (an operator purges a stream whose events wait
// unconsumed); for events that have no natural answer only the recipient knows whether they arrived.
// The recipient side reads its inbox and parked messages; the producer side keeps, per recipient,
// which of its events were confirmed and how often the others were sent again.
import { sql, type Kysely } from 'kysely';

/**
 * Of `eventIds`, those this deployment holds — applied (inbox, any of its consumers) or parked
 * (an operator decides on them, so sending them again would not help) — for events under the
 * producer's own subjects (`lotse.<producer>.…`). Ids of any other producer's events are never
 * answered, so a caller learns nothing about events that are not its own.
 */
export async function receivedEventIds(db: Kysely<any>, producerAgencyId: string, eventIds: readonly string[]): Promise<string[]> {
  if (eventIds.length === 0) return [];
  const ids = [...new Set(eventIds)];
  // parked_message has no index on event_id: it holds what failed, a handful of rows.
  const { rows } = await sql<{ event_id: string }>`
    select event_id from inbox where event_id = any(${ids}) and split_part(subject, '.', 2) = ${producerAgencyId}
    union
    select event_id from parked_message where event_id = any(${ids}) and split_part(subject, '.', 2) = ${producerAgencyId}`.execute(db);
  return rows.map((r) => r.event_id);
}
