import type { JsMsg } from '@nats-io/jetstream';
import { context } from '@opentelemetry/api';
import type { Logger } from '@lotse/logger';
import type { Kysely } from 'kysely';
import { isDatabaseUnavailable } from '@lotse/db';
import { applyAllInTransaction, applyOnce, type ApplyOutcome, type ConsumedEvent, type EventHandler } from './apply-once.js';
import { acknowledge, consumedEvent, startDelivery, type Delivery } from './deliveries.js';
import { retryOrPark, type DatabasePause, type RetryPolicy } from './redelivery.js';
import type { EventVerifier } from './signing.js';

export interface DeliveryProcessorOptions<DB> {
  db: Kysely<DB>;
  /** The dedup key: the `consumer` of the applied_event and parked_message rows. */
  consumer: string;
  stream: string;
  handle: EventHandler<DB>;
  logger: Logger;
  retry: RetryPolicy;
  pause: DatabasePause;
  verifier?: EventVerifier;
  notifyCommitted(event: ConsumedEvent): void;
}

/** Applies pulled messages once each (applied_event), acks them, and retries or parks the failures. */
export class DeliveryProcessor<DB> {
  constructor(private readonly o: DeliveryProcessorOptions<DB>) {}

  /**
   * Messages that waited while the consumer was busy: one transaction for all of them (one
   * applied_event insert, one commit), each handler in its own consume span. If anything fails,
   * the transaction rolls back and each message is processed on its own, so a failing one is
   * retried or parked alone and the others still apply. Saves a begin, a commit and an
   * applied_event insert per message.
   */
  async processBatch(batch: JsMsg[]): Promise<void> {
    const { db, consumer, handle, logger, pause } = this.o;
    if (pause.isAway()) return pause.handBackAll(batch.map((m) => startDelivery(m, consumer)));
    if (batch.length === 1) return this.processMessage(batch[0]!);
    const deliveries = batch.map((m) => startDelivery(m, consumer));
    let events: ConsumedEvent[];
    try {
      events = deliveries.map((d) => consumedEvent(d, this.o.verifier, { 'lotse.batch_size': batch.length }));
    } catch {
      // A malformed message among them: each on its own, so only that one is retried and parked.
      for (const d of deliveries) await this.processMessage(d.m, d);
      return;
    }
    let outcomes: ApplyOutcome[];
    try {
      outcomes = await db
        .transaction()
        .execute((trx) => applyAllInTransaction(trx, consumer, events, handle, (i, run) => context.with(deliveries[i]!.context, run)));
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        pause.noteError(err);
        return pause.handBackAll(deliveries, err);
      }
      logger.debug({ err: err instanceof Error ? err.message : String(err), size: batch.length }, 'batch rolled back; processing its messages one by one');
      for (const d of deliveries) await this.processMessage(d.m, d);
      return;
    }
    for (const [i, d] of deliveries.entries()) {
      acknowledge(d, events[i]!, outcomes[i]!, logger, this.o.notifyCommitted);
      d.span.end();
    }
    pause.resumed();
  }

  async processMessage(m: JsMsg, started?: Delivery): Promise<void> {
    const { db, consumer, stream, handle, logger, pause } = this.o;
    const delivery = started ?? startDelivery(m, consumer);
    await context.with(delivery.context, async () => {
      let eventId: string | null = null;
      let eventType: string | undefined;
      try {
        const event = consumedEvent(delivery, this.o.verifier);
        eventId = event.envelope.eventId;
        eventType = event.envelope.eventType;
        acknowledge(delivery, event, await applyOnce(db, consumer, event, handle), logger, this.o.notifyCommitted);
        pause.resumed();
      } catch (err) {
        if (isDatabaseUnavailable(err)) {
          pause.noteError(err);
          pause.handBack(delivery, eventType);
          pause.began({ event_id: eventId, subject: m.subject, err: err instanceof Error ? err.message : String(err) });
          return;
        }
        await retryOrPark(delivery, err, { id: eventId, type: eventType }, { db: db as Kysely<any>, consumer, stream }, this.o.retry, logger);
      } finally {
        delivery.span.end();
      }
    });
  }
}
