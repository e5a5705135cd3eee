import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  ReplayPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import type { Logger } from '@lotse/logger';
import type { Kysely } from 'kysely';
import { isDatabaseUnavailable, type DatabaseAvailability } from '@lotse/db';
import { waitingBatches } from './batches.js';
import { applyAllInTransaction, applyOnce, decodeEnvelope, type ApplyOutcome, type ConsumedEvent, type EventHandler } from './apply-once.js';
import { defaultLogger } from './logger.js';
import { countConsumed } from './metrics.js';
import { InvalidSubjectTokenError, streamName, subjectMatches } from './naming.js';
import { parkMessage, replayParked, type ReplayOptions } from './parked-messages.js';
import { SignatureError, type EventVerifier } from './signing.js';
import { eventAttributes } from './span-attributes.js';
import { headersToRecord, msgHdrsGetter } from './trace-headers.js';

export interface ConsumerOptions<DB> {
  db: Kysely<DB>;
  js: JetStreamClient;
  jsm: JetStreamManager;
  logger?: Logger;
  /** Durable name and dedup key, e.g. the consuming agency ("caritas-koblenz"). */
  durableName: string;
  /**
   * The dedup key and consumer name instead of the durable name (the `consumer` of its
   * applied_event and parked_message rows): for a module of its own in a deployment (the
   * one-stop desk in the hub's), whose events must apply under a key of its own even when
   * another subscription of the same deployment receives them too. The durables keep the
   * deployment's name, the one the broker lets it use.
   */
  dedupKey?: string;
  /** Whose stream to read. */
  producerAgencyId: string;
  filterSubjects: string[];
  /** Deliveries before a message is parked. */
  maxDeliver?: number;
  /** Delay before the 2nd, 3rd, … delivery; the last value repeats. */
  retryDelaysMs?: number[];
  /** Time the broker waits for an ack before redelivering (a handler must finish within it). */
  ackWaitMs?: number;
  /** Messages pulled ahead, and the most applied in one transaction; stop() processes those before it returns. */
  maxMessages?: number;
  handle: EventHandler<DB>;
  /**
   * Whether the database is there. While it is away the consumer stops applying: it naks what it
   * pulled (redelivered after unavailableRetryMs) and waits, instead of running handlers that
   * fail and parking messages that were never at fault.
   */
  database?: DatabaseAvailability;
  /** Redelivery delay of a message naked because the database was away (default 1 s). */
  unavailableRetryMs?: number;
  /**
   * Called after a handler's transaction committed (not for duplicates), e.g. to notify the
   * outbox relay about events the handler enqueued.
   */
  afterCommit?: (event: ConsumedEvent) => void;
  /**
   * Checks every message's signature and signer before it is decoded for a handler (also on a
   * replay of a parked one). A message that fails is parked at once with `signature: <reason>`,
   * never retried and never handled. Without it, messages are taken as they come (tests on the
   * shared anonymous broker).
   */
  verifier?: EventVerifier;
}

export interface ConsumerHandle {
  /** The dedup key (the durable name unless `dedupKey` was given): what applied_event and parked messages record as `consumer`. */
  readonly consumer: string;
  /** The producer's stream it reads. */
  readonly stream: string;
  readonly filterSubjects: readonly string[];
  /** One durable per filter subject (nats-server 2.9 takes only one filter per consumer). */
  readonly durableNames: string[];
  /** Stops pulling, finishes the messages already pulled, returns when they are acked. */
  stop(): Promise<void>;
  /** Durables this consumer had to make again since it started because the broker had lost them. */
  recreatedDurables(): number;
  /** Whether a parked message came through this consumer (same name, stream and a matching filter). */
  accepts(parked: { consumer: string; stream: string; subject: string }): boolean;
  /**
   * Re-runs this consumer's handler for a parked message. With `trx` it runs in the caller's
   * transaction and the caller handles commit, afterCommit and failure recording.
   */
  replayParked(id: number, options?: Pick<ReplayOptions, 'trx' | 'links'>): Promise<ApplyOutcome>;
}

export type EventConsumer = ConsumerHandle;

const tracer = trace.getTracer('@lotse/messaging');

const defaultRetryDelaysMs = [200, 1_000, 3_000, 5_000];

const pullExpiresMs = 5_000;
const heartbeatMs = 1_000;
const consumerNotFound = 10014;
const streamNotFound = 10059;

/** One message being processed: its consume span and the context its handler runs in. */
interface Delivery {
  m: JsMsg;
  headers: Record<string, string[]>;
  deliveryCount: number;
  span: Span;
  context: Context;
}

/**
 * nats-server 2.9.10 accepts a single `filter_subject` per consumer (`filter_subjects` needs
 * 2.10), so every filter gets a durable of its own: the name plus a readable form of the filter.
 * The filter is always part of the name, so two consumers that share a name on one stream (one
 * per subscription) never overwrite each other's filter. Order holds only within one filter.
 */
export function durableNameFor(durableName: string, filterSubject: string): string {
  const readable = filterSubject
    .replace(/^lotse\.[^.]+\./, '')
    .replace(/\./g, '_')
    .replace(/\*/g, 'any')
    .replace(/>/g, 'all');
  return `${durableName}__${readable}`;
}

/** The event id of a refused message, for the parked row only (it is never trusted for anything else). */
function eventIdOf(data: Uint8Array): string | null {
  try {
    return decodeEnvelope(data).eventId;
  } catch {
    return null;
  }
}

/**
 * Durable pull consumer that applies each event once: per message, the applied_event insert and
 * the handler commit in one transaction, then the message is acked. A failure is retried with nak(delay); after
 * maxDeliver deliveries the raw message is parked and terminated, and the next one is processed.
 */
export async function startConsumer<DB>(options: ConsumerOptions<DB>): Promise<EventConsumer> {
  const { db, js, jsm, durableName, producerAgencyId, handle } = options;
  const consumerName = options.dedupKey ?? durableName;
  const logger = (options.logger ?? defaultLogger).child({ consumer: consumerName });
  const maxDeliver = options.maxDeliver ?? 5;
  const maxMessages = options.maxMessages ?? 10;
  const retryDelaysMs = options.retryDelaysMs?.length ? options.retryDelaysMs : defaultRetryDelaysMs;
  const unavailableRetryMs = options.unavailableRetryMs ?? 1_000;
  const stream = streamName(producerAgencyId);
  if (!durableName || /[\s.*>/\\]/.test(durableName)) throw new InvalidSubjectTokenError('durable name', durableName);
  if (options.filterSubjects.length === 0) throw new Error('startConsumer: at least one filter subject is needed');

  const durables = options.filterSubjects.map((filter) => ({
    filter,
    name: durableNameFor(durableName, filter),
  }));
  const durableConfig = (filter: string, name: string) => ({
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    ack_wait: nanos(options.ackWaitMs ?? 30_000),
    // Unlimited at the broker: we park after maxDeliver ourselves, and a broker-side limit would
    // drop a message silently if we crashed before parking it.
    max_deliver: -1,
    filter_subject: filter,
  });
  // Durables that existed once: only making one of these again is a recovery (the broker lost it).
  const made = new Set<string>();
  for (const { filter, name } of durables) {
    // An identical create succeeds on the server, and a changed ack_wait/max_deliver is applied,
    // so creating on every start is idempotent and keeps the config as the code says.
    // The producer's stream is the producer's: a consumer never creates it (the broker refuses
    // that anyway). Until the producer has made it, the run loop below retries every second.
    try {
      await jsm.consumers.add(stream, durableConfig(filter, name));
      made.add(name);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === streamNotFound)) throw err;
      logger.info({ stream, durable: name }, 'the producer has not made its stream yet; waiting for it');
    }
  }

  /**
   * After the consume loop failed: if the broker no longer has the stream or the durable (a wiped
   * store, a fresh broker, a deleted stream), make them again with the same configuration, so the
   * consumer resumes without a restart. DeliverPolicy.All reads the new stream from its start; the
   * applied_event table drops whatever the producer re-publishes that was applied before.
   */
  let healed = 0;
  async function heal(filter: string, name: string): Promise<boolean> {
    try {
      await jsm.consumers.info(stream, name);
      return false;
    } catch (err) {
      const code = err instanceof JetStreamApiError ? err.code : undefined;
      if (code !== consumerNotFound && code !== streamNotFound) throw err;
    }
    // A missing stream throws here and is retried after a second: its producer makes it again.
    await jsm.consumers.add(stream, durableConfig(filter, name));
    if (made.has(name)) {
      healed += 1;
      logger.warn({ stream, durable: name, filter }, 'broker had lost the durable consumer; recreated it');
    } else {
      made.add(name);
      logger.info({ stream, durable: name, filter }, 'the producer made its stream; durable consumer created');
    }
    return true;
  }
  function notifyCommitted(event: ConsumedEvent): void {
    try {
      options.afterCommit?.(event);
    } catch (err) {
      logger.warn({ err, event_id: event.envelope.eventId }, 'afterCommit hook failed');
    }
  }

  let stopping = false;
  const active = new Set<ConsumerMessages>();

  /** The consume span of one delivery, a child of the producer's trace (from the message headers). */
  function startDelivery(m: JsMsg): Delivery {
    const deliveryCount = m.info.deliveryCount;
    const headers = headersToRecord(m.headers);
    const parent = propagation.extract(ROOT_CONTEXT, m.headers, msgHdrsGetter);
    const span = tracer.startSpan(
      `consume ${m.subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'process',
          'messaging.destination.name': m.subject,
          'messaging.consumer.group.name': consumerName,
          'lotse.delivery_count': deliveryCount,
        },
      },
      parent,
    );
    return { m, headers, deliveryCount, span, context: trace.setSpan(parent, span) };
  }

  /** Decodes the message (throws MalformedEventError) and names the event on its span. */
  function consumedEvent(d: Delivery, extra: Record<string, number> = {}): ConsumedEvent {
    // The signature first, over the bytes as they arrived: nothing of a forgery is decoded for use.
    const signature = options.verifier?.verify(d.m.subject, d.m.data, d.headers);
    const envelope = decodeEnvelope(d.m.data);
    d.span.setAttributes({ ...eventAttributes(envelope), ...extra });
    if (signature) {
      options.verifier!.checkEnvelope(signature, envelope);
      d.span.setAttribute('lotse.signer', signature.deploymentId);
    }
    return {
      envelope,
      subject: d.m.subject,
      headers: d.headers,
      deliveryCount: d.deliveryCount,
      ...(signature && { signed: { signature, data: d.m.data } }),
    };
  }

  function acknowledge(d: Delivery, event: ConsumedEvent, outcome: ApplyOutcome): void {
    // Ack only after the commit: if we die in between, the redelivery meets the applied_event row.
    d.m.ack();
    const counted = outcome === 'handled' ? 'applied' : 'duplicate';
    d.span.setAttribute('lotse.outcome', counted);
    countConsumed(d.m.subject, event.envelope.eventType, counted);
    if (outcome === 'duplicate') logger.debug({ event_id: event.envelope.eventId, subject: d.m.subject }, 'duplicate event skipped');
    else notifyCommitted(event);
  }

  /**
   * Messages that waited while the consumer was busy: one transaction for all of them (one applied_event
   * insert, one commit), each handler in its own consume span. If anything fails, the transaction
   * rolls back and each message is processed on its own, so a failing one is retried or parked
   * alone and the others still apply. Saves a begin, a commit and an applied_event insert per message.
   */
  async function processBatch(batch: JsMsg[]): Promise<void> {
    if (options.database && !options.database.isUp()) return pauseWhileAway(batch.map(startDelivery));
    if (batch.length === 1) return processMessage(batch[0]!);
    const deliveries = batch.map(startDelivery);
    let events: ConsumedEvent[];
    try {
      events = deliveries.map((d) => consumedEvent(d, { 'lotse.batch_size': batch.length }));
    } catch {
      // A malformed message among them: each on its own, so only that one is retried and parked.
      for (const d of deliveries) await processMessage(d.m, d);
      return;
    }
    let outcomes: ApplyOutcome[];
    try {
      outcomes = await db
        .transaction()
        .execute((trx) => applyAllInTransaction(trx, consumerName, events, handle, (i, run) => context.with(deliveries[i]!.context, run)));
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        options.database?.noteError(err);
        return pauseWhileAway(deliveries, err);
      }
      logger.debug({ err: err instanceof Error ? err.message : String(err), size: batch.length }, 'batch rolled back; processing its messages one by one');
      for (const d of deliveries) await processMessage(d.m, d);
      return;
    }
    for (const [i, d] of deliveries.entries()) {
      acknowledge(d, events[i]!, outcomes[i]!);
      d.span.end();
    }
    resumed();
  }

  /**
   * The database is away: hand the messages back (nak with a delay, not counted as a failure of
   * theirs — they are never parked for it) and hold this loop until the database answers again or
   * the delay passed, so it does not spin through redeliveries that cannot be applied.
   */
  async function pauseWhileAway(deliveries: Delivery[], err?: unknown): Promise<void> {
    for (const d of deliveries) {
      d.m.nak(unavailableRetryMs);
      d.span.setAttribute('lotse.outcome', 'database_unavailable');
      if (err !== undefined) d.span.recordException(err instanceof Error ? err : new Error(String(err)));
      countConsumed(d.m.subject, undefined, 'retried');
      d.span.end();
    }
    if (!pausedSince) {
      pausedSince = Date.now();
      logger.warn({ err: err instanceof Error ? err.message : err, stream }, 'database unavailable; consumer paused, messages handed back to the broker');
    }
    await (options.database?.whenUp(unavailableRetryMs) ?? new Promise((resolve) => setTimeout(resolve, unavailableRetryMs)));
  }
  let pausedSince = 0;
  function resumed(): void {
    if (!pausedSince) return;
    logger.info({ stream, paused_ms: Date.now() - pausedSince }, 'database back; consumer resumed');
    pausedSince = 0;
  }

  async function processMessage(m: JsMsg, started?: Delivery): Promise<void> {
    const delivery = started ?? startDelivery(m);
    const { deliveryCount, headers, span } = delivery;
    await context.with(delivery.context, async () => {
      let eventId: string | null = null;
      let eventType: string | undefined;
      try {
        const event = consumedEvent(delivery);
        eventId = event.envelope.eventId;
        eventType = event.envelope.eventType;
        acknowledge(delivery, event, await applyOnce(db, consumerName, event, handle));
        resumed();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (isDatabaseUnavailable(err)) {
          // Not the message's fault: hand it back without parking, whatever its delivery count.
          options.database?.noteError(err);
          m.nak(unavailableRetryMs);
          span.setAttribute('lotse.outcome', 'database_unavailable');
          countConsumed(m.subject, eventType, 'retried');
          if (!pausedSince) {
            pausedSince = Date.now();
            logger.warn({ event_id: eventId, subject: m.subject, err: message }, 'database unavailable; consumer paused, messages handed back to the broker');
          }
          return;
        }
        span.recordException(err instanceof Error ? err : new Error(message));
        span.setStatus({ code: SpanStatusCode.ERROR, message });
        const facts = { event_id: eventId, subject: m.subject, delivery_count: deliveryCount, err: message };
        // A bad signature is no passing failure: parked (and logged as refused) on the first delivery.
        const refused = err instanceof SignatureError;
        if (refused) eventId = eventIdOf(m.data);
        if (deliveryCount < maxDeliver && !refused) {
          const delay = retryDelaysMs[Math.min(deliveryCount - 1, retryDelaysMs.length - 1)]!;
          m.nak(delay);
          span.setAttribute('lotse.outcome', 'retried');
          countConsumed(m.subject, eventType, 'retried');
          logger.warn({ ...facts, retry_in_ms: delay }, 'event handling failed; will retry');
          return;
        }
        try {
          const parkedId = await parkMessage(db as Kysely<any>, {
            consumer: consumerName,
            stream,
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
      } finally {
        span.end();
      }
    });
  }

  async function run(filter: string, durable: string): Promise<void> {
    while (!stopping) {
      let messages: ConsumerMessages | undefined;
      try {
        const consumer = await js.consumers.get(stream, durable);
        // Without abort_on_missing_resource the client retries a vanished durable forever and the
        // loop never learns of it; with it, the iterator ends and heal() makes the durable again.
        // A deleted stream answers nothing, so only missed heartbeats reveal it: two missed at 1 s
        // (instead of 15 s by default) find it within seconds, for one small message a second.
        messages = await consumer.consume({ max_messages: maxMessages, abort_on_missing_resource: true, expires: pullExpiresMs, idle_heartbeat: heartbeatMs });
        active.add(messages);
        if (stopping) await messages.close();
        // Sequential on purpose: events of one subject are applied in stream order.
        for await (const batch of waitingBatches(messages, maxMessages)) await processBatch(batch);
      } catch (err) {
        if (stopping) break;
        // Before the producer has made its stream there is no durable yet: expected, not an error.
        const waiting = !made.has(durable);
        if (!waiting) logger.error({ err, durable }, 'consumer loop failed; restarting');
        // A durable the broker lost is made again at once; anything else waits a second first.
        const recreated = await heal(filter, durable).catch((healErr) => {
          if (waiting) logger.debug({ err: healErr, durable }, 'still waiting for the producer to make its stream');
          else logger.error({ err: healErr, durable }, 'recreating the durable consumer failed; will retry');
          return false;
        });
        if (!recreated) await new Promise((resolve) => setTimeout(resolve, 1_000));
      } finally {
        if (messages) active.delete(messages);
      }
    }
  }

  const loops = durables.map(({ filter, name }) => run(filter, name));
  logger.info({ stream, durables: durables.map((d) => d.name) }, 'consumer started');

  return {
    consumer: consumerName,
    stream,
    filterSubjects: [...options.filterSubjects],
    durableNames: durables.map((d) => d.name),
    recreatedDurables: () => healed,
    accepts: (parked) =>
      parked.consumer === consumerName && parked.stream === stream && options.filterSubjects.some((filter) => subjectMatches(filter, parked.subject)),
    async stop() {
      stopping = true;
      // close() lets the iterator hand out what was already pulled, and resolves once it did.
      await Promise.all([...active].map((m) => m.close().catch(() => undefined)));
      await Promise.all(loops);
    },
    replayParked: (id, replayOptions = {}) =>
      replayParked(db, id, handle, { logger, afterCommit: notifyCommitted, ...(options.verifier && { verifier: options.verifier }), ...replayOptions }),
  };
}
