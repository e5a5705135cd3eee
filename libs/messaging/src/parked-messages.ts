import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Logger } from '@lotse/logger';
import type { Kysely } from 'kysely';
import { applyInTransaction, decodeEnvelope, type ApplyOutcome, type ConsumedEvent, type EventHandler } from './inbox.js';
import { defaultLogger } from './logger.js';
import { messagingDb } from './tables.js';
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

const tracer = trace.getTracer('@lotse/messaging');

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

/**
 * Runs the handler again for a parked message (after the cause was fixed), in one transaction
 * with the inbox insert and the replayed_at mark, so a replay also happens at most once. If it
 * fails again the message stays parked with the new error, and the error is rethrown.
 */
export async function replayParked<DB>(
  db: Kysely<DB>,
  id: number,
  handle: EventHandler<DB>,
  options: { logger?: Logger; afterCommit?: (event: ConsumedEvent) => void } = {},
): Promise<ApplyOutcome> {
  const logger = options.logger ?? defaultLogger;
  const mdb = messagingDb(db as Kysely<any>);
  const row = await mdb
    .selectFrom('parked_message')
    .selectAll()
    .where('id', '=', id)
    .where('replayed_at', 'is', null)
    .where('discarded_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw new ParkedMessageNotFoundError(id);

  const parent = propagation.extract(ROOT_CONTEXT, row.headers, recordGetter);
  const span = tracer.startSpan(
    `replay ${row.subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': row.subject,
        'messaging.consumer.group.name': row.consumer,
        'lotse.parked_message_id': id,
        ...(row.event_id ? { 'messaging.message.id': row.event_id } : {}),
      },
    },
    parent,
  );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      const envelope = decodeEnvelope(row.data);
      span.setAttribute('lotse.event_type', envelope.eventType);
      const event: ConsumedEvent = { envelope, subject: row.subject, headers: row.headers, deliveryCount: row.deliveries + 1 };
      const outcome = await db.transaction().execute(async (trx) => {
        const result = await applyInTransaction(trx, row.consumer, event, handle);
        await messagingDb(trx as Kysely<any>).updateTable('parked_message').set({ replayed_at: new Date() }).where('id', '=', id).execute();
        return result;
      });
      logger.info({ parked_id: id, event_id: envelope.eventId, subject: row.subject, outcome }, 'parked message replayed');
      if (outcome === 'handled') options.afterCommit?.(event);
      return outcome;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      span.recordException(err instanceof Error ? err : new Error(message));
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      logger.warn({ parked_id: id, event_id: row.event_id, subject: row.subject, err: message }, 'replaying a parked message failed');
      await mdb.updateTable('parked_message').set({ error: message.slice(0, 2000) }).where('id', '=', id).execute();
      throw err;
    } finally {
      span.end();
    }
  });
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
