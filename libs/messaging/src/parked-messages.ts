import { ROOT_CONTEXT, SpanStatusCode, context, propagation, trace, type Link } from '@opentelemetry/api';
import type { Logger } from '@lotse/logger';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { applyInTransaction, type ApplyOutcome, type ConsumedEvent, type EventHandler } from './apply-once.js';
import { startConsumeSpan, verifiedEvent } from './deliveries.js';
import { defaultLogger } from './logger.js';
import type { EventVerifier } from './signing.js';
import { messagingDb, type ParkedMessageTable } from './tables.js';
import { recordGetter } from './trace-headers.js';

/** A parked message as the operator console shows it: facts, never the payload. */
export interface ParkedMessage {
  id: number;
  consumer: string;
  stream: string;
  subject: string;
  eventId: string | null;
  error: string;
  deliveries: number;
  parkedAt: Date;
  replayedAt: Date | null;
  discardedAt: Date | null;
}

/** A parked message with what arrived: headers and the raw bytes (for the operator API). */
export interface ParkedRecord extends ParkedMessage {
  headers: Record<string, string[]>;
  data: Buffer;
}

export interface ParkInput {
  consumer: string;
  stream: string;
  subject: string;
  eventId: string | null;
  headers: Record<string, string[]>;
  data: Uint8Array;
  error: string;
  deliveries: number;
}

export class ParkedMessageNotFoundError extends Error {
  constructor(id: number) {
    super(`no open parked message with id ${id}`);
    this.name = 'ParkedMessageNotFoundError';
  }
}

export async function parkMessage(db: Kysely<any>, input: ParkInput): Promise<number> {
  const row = await messagingDb(db)
    .insertInto('parked_message')
    .values({
      consumer: input.consumer,
      stream: input.stream,
      subject: input.subject,
      event_id: input.eventId,
      headers: JSON.stringify(input.headers),
      data: Buffer.from(input.data),
      error: input.error.slice(0, 2000),
      deliveries: input.deliveries,
      replayed_at: null,
      discarded_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Open parked messages (neither replayed nor discarded), oldest first; all of them with includeResolved. */
export async function listParked(
  db: Kysely<any>,
  consumer?: string,
  options: { includeResolved?: boolean } = {},
): Promise<ParkedMessage[]> {
  let query = messagingDb(db)
    .selectFrom('parked_message')
    .select(['id', 'consumer', 'stream', 'subject', 'event_id', 'error', 'deliveries', 'parked_at', 'replayed_at', 'discarded_at'])
    .orderBy('id');
  if (consumer !== undefined) query = query.where('consumer', '=', consumer);
  if (!options.includeResolved) query = query.where('replayed_at', 'is', null).where('discarded_at', 'is', null);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id,
    consumer: r.consumer,
    stream: r.stream,
    subject: r.subject,
    eventId: r.event_id,
    error: r.error,
    deliveries: r.deliveries,
    parkedAt: r.parked_at,
    replayedAt: r.replayed_at,
    discardedAt: r.discarded_at,
  }));
}

export interface ReplayOptions {
  logger?: Logger;
  /** Called after the replay committed, when the handler ran (not for a duplicate). Not called with `trx`. */
  afterCommit?: (event: ConsumedEvent) => void;
  /**
   * Run inside this transaction instead of opening one, e.g. together with an audit row. The
   * caller commits; if the replay throws, the caller rolls back and may record the error with
   * recordReplayFailure().
   */
  trx?: Transaction<any>;
  /** Linked from the replay span, e.g. the operator's call that asked for the replay. */
  links?: Link[];
  /** The consumer's signature check; a parked message that fails it is not replayed. */
  verifier?: EventVerifier;
}

/**
 * Runs the handler again for a parked message (after the cause was fixed), in one transaction
 * with the applied_event insert and the replayed_at mark, so a replay also happens at most once. If it
 * fails again the message stays parked with the new error, and the error is rethrown. The replay
 * span continues the trace the message arrived with.
 */
export async function replayParked<DB>(
  db: Kysely<DB>,
  id: number,
  handle: EventHandler<DB>,
  options: ReplayOptions = {},
): Promise<ApplyOutcome> {
  const logger = options.logger ?? defaultLogger;
  const row = await messagingDb((options.trx ?? db) as Kysely<any>)
    .selectFrom('parked_message')
    .selectAll()
    .where('id', '=', id)
    .where('replayed_at', 'is', null)
    .where('discarded_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw new ParkedMessageNotFoundError(id);

  const parent = propagation.extract(ROOT_CONTEXT, row.headers, recordGetter);
  const span = startConsumeSpan(
    `replay ${row.subject}`,
    row.subject,
    row.consumer,
    parent,
    { 'lotse.parked_message_id': id, ...(row.event_id ? { 'messaging.message.id': row.event_id, 'lotse.event_id': row.event_id } : {}) },
    options.links,
  );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      const event = verifiedEvent({ subject: row.subject, data: row.data, headers: row.headers, deliveryCount: row.deliveries + 1 }, span, options.verifier);
      const envelope = event.envelope;
      const run = async (trx: Transaction<any>) => {
        const result = await applyInTransaction(trx, row.consumer, event, handle as EventHandler<any>);
        await messagingDb(trx).updateTable('parked_message').set({ replayed_at: new Date() }).where('id', '=', id).execute();
        return result;
      };
      const outcome = options.trx ? await run(options.trx) : await db.transaction().execute((trx) => run(trx as Transaction<any>));
      span.setAttribute('lotse.outcome', outcome === 'handled' ? 'applied' : outcome);
      logger.info({ parked_id: id, event_id: envelope.eventId, subject: row.subject, outcome }, 'parked message replayed');
      if (!options.trx && outcome === 'handled') options.afterCommit?.(event);
      return outcome;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      span.recordException(err instanceof Error ? err : new Error(message));
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      logger.warn({ parked_id: id, event_id: row.event_id, subject: row.subject, err: message }, 'replaying a parked message failed');
      if (!options.trx) await recordReplayFailure(db as Kysely<any>, id, message);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Keeps the error of the latest failed replay on the parked message. */
export async function recordReplayFailure(db: Kysely<any>, id: number, error: string): Promise<void> {
  await messagingDb(db).updateTable('parked_message').set({ error: error.slice(0, 2000) }).where('id', '=', id).execute();
}

/** One parked message with headers and bytes, resolved or not; `forUpdate` locks it for the caller's transaction. */
export async function getParked(db: Kysely<any>, id: number, options: { forUpdate?: boolean } = {}): Promise<ParkedRecord | undefined> {
  let query = messagingDb(db).selectFrom('parked_message').selectAll().where('id', '=', id);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

/** Like listParked, with headers and bytes; the newest `limit` (oldest first). */
export async function listParkedRecords(db: Kysely<any>, options: { includeResolved?: boolean; limit?: number } = {}): Promise<ParkedRecord[]> {
  let query = messagingDb(db).selectFrom('parked_message').selectAll().orderBy('id', 'desc').limit(options.limit ?? 500);
  if (!options.includeResolved) query = query.where('replayed_at', 'is', null).where('discarded_at', 'is', null);
  const rows = await query.execute();
  return rows.reverse().map(toRecord);
}

function toRecord(r: Selectable<ParkedMessageTable>): ParkedRecord {
  return {
    id: r.id,
    consumer: r.consumer,
    stream: r.stream,
    subject: r.subject,
    eventId: r.event_id,
    error: r.error,
    deliveries: r.deliveries,
    parkedAt: r.parked_at,
    replayedAt: r.replayed_at,
    discardedAt: r.discarded_at,
    headers: r.headers,
    data: r.data,
  };
}

/** The operator decided the message needs no effect; it stays on record. Returns false if it was not open. */
export async function discardParked(db: Kysely<any>, id: number): Promise<boolean> {
  const result = await messagingDb(db)
    .updateTable('parked_message')
    .set({ discarded_at: new Date() })
    .where('id', '=', id)
    .where('replayed_at', 'is', null)
    .where('discarded_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
