// What happens to a delivery that did not apply: handed back to the broker while the database is
// away (never parked for that), retried with a delay, or parked after the last delivery.
import { SpanStatusCode } from '@opentelemetry/api';
import type { Logger } from '@lotse/logger';
import type { DatabaseAvailability, Kysely } from '@lotse/db';
import { decodeEnvelope } from './apply-once.js';
import type { Delivery } from './deliveries.js';
import { countConsumed } from './metrics.js';
import { parkMessage } from './parked-messages.js';
import { SignatureError } from './signing.js';

/** The event id of a refused message, for the parked row only (it is never trusted for anything else). */
function eventIdOf(data: Uint8Array): string | null {
  try {
    return decodeEnvelope(data).eventId;
  } catch {
    return null;
  }
}

/**
 * The consumer's pause while its database is away: messages go back to the broker with a delay,
 * not counted as a failure of theirs, and the pause is logged once when it begins and once when
 * it ends.
 */
export class DatabasePause {
  private since = 0;

  constructor(
    private readonly retryMs: number,
    private readonly stream: string,
    private readonly logger: Logger,
    private readonly database?: DatabaseAvailability,
  ) {}

  /** The database is known to be away before anything is tried. */
  isAway(): boolean {
    return this.database !== undefined && !this.database.isUp();
  }

  noteError(err: unknown): void {
    this.database?.noteError(err);
  }

  /** Not the message's fault: hand it back without parking, whatever its delivery count. */
  handBack(d: Delivery, eventType: string | undefined): void {
    d.m.nak(this.retryMs);
    d.span.setAttribute('lotse.outcome', 'database_unavailable');
    countConsumed(d.m.subject, eventType, 'retried');
  }

  began(facts: Record<string, unknown>): void {
    if (this.since) return;
    this.since = Date.now();
    this.logger.warn(facts, 'database unavailable; consumer paused, messages handed back to the broker');
  }

  /**
   * Hands the messages back and holds the pull loop until the database answers again or the delay
   * passed, so it does not spin through redeliveries that cannot be applied.
   */
  async handBackAll(deliveries: Delivery[], err?: unknown): Promise<void> {
    for (const d of deliveries) {
      this.handBack(d, undefined);
      if (err !== undefined) d.span.recordException(err instanceof Error ? err : new Error(String(err)));
      d.span.end();
    }
    this.began({ err: err instanceof Error ? err.message : err, stream: this.stream });
    await (this.database?.whenUp(this.retryMs) ?? new Promise((resolve) => setTimeout(resolve, this.retryMs)));
  }

  resumed(): void {
    if (!this.since) return;
    this.logger.info({ stream: this.stream, paused_ms: Date.now() - this.since }, 'database back; consumer resumed');
    this.since = 0;
  }
}

export interface RetryPolicy {
  /** Deliveries before a message is parked. */
  maxDeliver: number;
  /** Delay before the 2nd, 3rd, … delivery; the last value repeats. */
  retryDelaysMs: number[];
}

/** Where a parked message is kept, and under which consumer. */
export interface ParkingPlace {
  db: Kysely<any>;
  consumer: string;
  stream: string;
}

/**
 * A delivery whose handler (or decoding, or signature check) failed: nak(delay) while deliveries
 * are left, else the raw message is parked and terminated. A bad signature is parked at once.
 */
export async function retryOrPark(d: Delivery, err: unknown, event: { id: string | null; type: string | undefined }, place: ParkingPlace, policy: RetryPolicy, logger: Logger): Promise<void> {
  const { m, deliveryCount, headers, span } = d;
  const { retryDelaysMs } = policy;
  const eventType = event.type;
  let eventId = event.id;
  const message = err instanceof Error ? err.message : String(err);
  span.recordException(err instanceof Error ? err : new Error(message));
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  const facts = { event_id: eventId, subject: m.subject, delivery_count: deliveryCount, err: message };
  // A bad signature is no passing failure: parked (and logged as refused) on the first delivery.
  const refused = err instanceof SignatureError;
  if (refused) eventId = eventIdOf(m.data);
  if (deliveryCount < policy.maxDeliver && !refused) {
    const delay = retryDelaysMs[Math.min(deliveryCount - 1, retryDelaysMs.length - 1)]!;
    m.nak(delay);
    span.setAttribute('lotse.outcome', 'retried');
    countConsumed(m.subject, eventType, 'retried');
    logger.warn({ ...facts, retry_in_ms: delay }, 'event handling failed; will retry');
    return;
  }
  try {
    const parkedId = await parkMessage(place.db, {
      consumer: place.consumer,
      stream: place.stream,
      subject: m.subject,
      eventId,
      headers,
      data: m.data,
      error: message,
      deliveries: deliveryCount,
    });
    // No reason text: nats-server 2.9 only recognises a bare "+TERM" and ignores "+TERM <reason>".
    m.term();
    span.setAttributes({ 'lotse.parked_message_id': parkedId, 'lotse.outcome': 'parked' });
    countConsumed(m.subject, eventType, 'parked');
    if (refused) logger.error({ ...facts, event_id: eventId, parked_id: parkedId, refused: 'signature' }, 'event refused: signature check failed; parked, never handled');
    else logger.error({ ...facts, parked_id: parkedId }, 'event parked after repeated failures');
  } catch (parkErr) {
    // Not stored, so not terminated: the broker delivers it again later.
    const delay = retryDelaysMs[retryDelaysMs.length - 1]!;
    m.nak(delay);
    span.setAttribute('lotse.outcome', 'retried');
    countConsumed(m.subject, eventType, 'retried');
    logger.error({ ...facts, park_err: parkErr instanceof Error ? parkErr.message : String(parkErr) }, 'parking failed; will retry');
  }
}
