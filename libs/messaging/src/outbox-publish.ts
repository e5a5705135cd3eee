// Publishing one outbox row to JetStream: traced as the producer span its consumers continue,
// signed, with Nats-Msg-Id = event id; a failure is recorded on the row (attempts, last error).
import { JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import type { Logger } from '@lotse/logger';
import type { Kysely } from 'kysely';
import { countPublished } from './metrics.js';
import { msgIdOf } from './outbox.js';
import type { OutboxStream } from './outbox-stream.js';
import { eventAttributes } from './span-attributes.js';
import type { EventSigner } from './signing.js';
import { messagingDb } from './tables.js';
import { msgHdrsSetter } from './trace-headers.js';

const tracer = trace.getTracer('@lotse/messaging');

export interface OutboxRow {
  event_id: string;
  subject: string;
  event_type: string;
  case_ref: string;
  payload: Buffer;
  headers: Record<string, string>;
  attempts: number;
  resends: number;
}

/** Where a row is published, and what publishing it needs. */
export interface PublishTo {
  db: Kysely<any>;
  js: JetStreamClient;
  logger: Logger;
  signer: EventSigner | undefined;
  stream: OutboxStream;
}

/**
 * `expectAfter`: the broker stores the message only if that event is the stream's last message.
 * `recordFailure: false` for a pipelined attempt, whose failure is retried one at a time at once.
 */
export async function publishRow(to: PublishTo, row: OutboxRow, how: { expectAfter?: string; recordFailure?: boolean } = {}): Promise<boolean> {
  const parent = propagation.extract(ROOT_CONTEXT, row.headers ?? {});
  const span = tracer.startSpan(
    `publish ${row.subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'publish',
        'messaging.destination.name': row.subject,
        ...eventAttributes({ eventId: row.event_id, eventType: row.event_type, caseRef: row.case_ref }),
      },
    },
    parent,
  );
  // Consumers become children of this publish span, not of the original request span.
  const hdrs = natsHeaders();
  propagation.inject(trace.setSpan(parent, span), hdrs, msgHdrsSetter);
  to.signer?.sign(row.subject, row.payload, hdrs);
  try {
    await to.stream.ensure();
    const ack = await to.js.publish(row.subject, row.payload, {
      msgID: msgIdOf(row),
      headers: hdrs,
      ...(how.expectAfter !== undefined && { expect: { lastMsgID: how.expectAfter } }),
    });
    span.setAttribute('messaging.nats.duplicate', ack.duplicate);
    to.stream.reconciler.noteAcked(ack.seq, ack.duplicate);
    if (ack.duplicate) to.logger.debug({ event_id: row.event_id, subject: row.subject }, 'outbox relay: broker already had the event');
    else countPublished(row.subject, row.event_type);
    return true;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    span.recordException(err instanceof Error ? err : new Error(message));
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    if (how.recordFailure === false) {
      span.setAttribute('lotse.publish.retried_alone', true);
      return false;
    }
    // Only an answer that there is no stream sends the relay to look for it; a timeout (a
    // partition, an election, a dead link) is tried again as it is, without the API's look,
    // which would fail for the same reason and hold back the publish that might get through.
    if (streamMayBeGone(err)) to.stream.lost();
    to.logger.error(
      { event_id: row.event_id, subject: row.subject, attempts: row.attempts + 1, err: message },
      'outbox relay: publish failed; will retry',
    );
    try {
      await messagingDb(to.db)
        .updateTable('outbox')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: message.slice(0, 2000) }))
        .where('event_id', '=', row.event_id)
        .execute();
    } catch (dbErr) {
      to.logger.error({ err: dbErr, event_id: row.event_id }, 'outbox relay: recording the failure failed');
    }
    return false;
  } finally {
    span.end();
  }
}

/**
 * Whether a failed publish says the stream is not there: nobody listens on the subject (no
 * responders; the client calls it JetStreamNotEnabled, a class it does not export) or the broker
 * answers "stream not found" (10059).
 */
export function streamMayBeGone(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === 10059;
  return (err as Error)?.name === 'JetStreamNotEnabled';
}
