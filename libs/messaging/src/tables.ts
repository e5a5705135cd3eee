import type { ColumnType, Generated, Kysely } from 'kysely';

/** One row per event this deployment produced; kept after publishing (the broker is not the record). */
export interface OutboxTable {
  /** Insertion order; the relay publishes by it so a stream sees events in the order they were made. */
  seq: Generated<number>;
  event_id: string;
  subject: string;
  event_type: string;
  case_ref: string;
  /** The encoded Envelope, exactly the bytes that go on the wire. */
  payload: Buffer;
  /** W3C trace context of the transaction that enqueued the event. */
  headers: ColumnType<Record<string, string>, string, string>;
  created_at: Generated<Date>;
  published_at: Date | null;
  attempts: Generated<number>;
  /** Sends again on reconciliation; the Nats-Msg-Id is `<event id>~<resends>` once it is above 0. */
  resends: Generated<number>;
  last_error: string | null;
}

/** Events a consumer has applied (the dedup record); the key makes a second delivery a no-op. */
export interface AppliedEventTable {
  consumer: string;
  event_id: string;
  subject: string;
  received_at: Generated<Date>;
  /**
   * The producer's signature (base64 DER), its certificate (base64 DER) and the exact envelope
   * bytes it covers (with the subject, see signedBytes): what lets the recipient prove later who
   * told it what. Null for events consumed without verification.
   */
  signature: string | null;
  signer_certificate: string | null;
  envelope: Buffer | null;
}

/** Dead letters: messages that kept failing, kept raw so an operator can replay or discard them. */
export interface ParkedMessageTable {
  id: Generated<number>;
  consumer: string;
  stream: string;
  subject: string;
  event_id: string | null;
  headers: ColumnType<Record<string, string[]>, string, string>;
  data: Buffer;
  error: string;
  deliveries: number;
  parked_at: Generated<Date>;
  replayed_at: Date | null;
  discarded_at: Date | null;
}

/** What a producer knows of its stream at the broker, to notice when the broker forgot it. */
export interface OutboxStreamTable {
  stream: string;
  /** The stream's creation time as the broker reports it; another value means it was made again. */
  created: string;
  /** Every event published before this was acknowledged by all of the stream's durables. */
  safe_before: Generated<Date>;
  /** The stream sequence that confirmation was measured at (the current stream's numbering). */
  safe_seq: ColumnType<string, number | undefined, number>;
  resets: Generated<number>;
  last_reset_at: Date | null;
  /** Events the last reset sent again. */
  republished: Generated<number>;
}

/** A recipient's confirmation of one event, as the producer's receipt follow-up keeps it. */
export interface OutboxReceiptTable {
  recipient: string;
  event_id: string;
  /** Sends again because the recipient did not have the event; `maxAttempts` of them: stuck. */
  sends: Generated<number>;
  asked_at: Generated<Date>;
  confirmed_at: Date | null;
}

export interface MessagingTables {
  outbox: OutboxTable;
  outbox_receipt: OutboxReceiptTable;
  outbox_stream: OutboxStreamTable;
  applied_event: AppliedEventTable;
  parked_message: ParkedMessageTable;
}

/**
 * Services pass their own Kysely<ServiceDb> (or a transaction of it); these tables are part of
 * that schema, so the functions here view the same connection through their own table types.
 */
export function messagingDb(db: Kysely<any>): Kysely<MessagingTables> {
  return db as Kysely<MessagingTables>;
}
