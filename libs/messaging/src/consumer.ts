import type { ConsumerMessages, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@lotse/logger';
import type { Kysely } from 'kysely';
import type { DatabaseAvailability } from '@lotse/db';
import type { ApplyOutcome, ConsumedEvent, EventHandler } from './apply-once.js';
import { DeliveryProcessor } from './delivery-processor.js';
import { Durables } from './durables.js';
import { defaultLogger } from './logger.js';
import { InvalidSubjectTokenError, streamName, subjectMatches } from './naming.js';
import { replayParked, type ReplayOptions } from './parked-messages.js';
import { pullLoop, type PullLoopOptions } from './pull-loop.js';
import { DatabasePause } from './redelivery.js';
import { StalledDurables } from './stalled-durables.js';
import type { EventVerifier } from './signing.js';

export interface ConsumerOptions<DB> {
  db: Kysely<DB>;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /**
   * The connection, for the look at stalled durables (see StalledDurables): on a replicated
   * stream a durable whose leader stopped seeing the stream gets another leader. Without it the
   * consumer does not look (tests on a single broker).
   */
  nc?: NatsConnection;
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

const defaultRetryDelaysMs = [200, 1_000, 3_000, 5_000];

/**
 * Durable pull consumer that applies each event once: per message, the applied_event insert and
 * the handler commit in one transaction, then the message is acked. A failure is retried with
 * nak(delay); after maxDeliver deliveries the raw message is parked and terminated, and the next
 * one is processed.
 */
export async function startConsumer<DB>(options: ConsumerOptions<DB>): Promise<EventConsumer> {
  const { db, js, jsm, durableName, producerAgencyId, handle } = options;
  const consumerName = options.dedupKey ?? durableName;
  const logger = (options.logger ?? defaultLogger).child({ consumer: consumerName });
  const maxMessages = options.maxMessages ?? 10;
  const stream = streamName(producerAgencyId);
  if (!durableName || /[\s.*>/\\]/.test(durableName)) throw new InvalidSubjectTokenError('durable name', durableName);
  if (options.filterSubjects.length === 0) throw new Error('startConsumer: at least one filter subject is needed');

  const durables = new Durables(jsm, stream, durableName, options.filterSubjects, options.ackWaitMs ?? 30_000, logger);
  await durables.createAll();

  function notifyCommitted(event: ConsumedEvent): void {
    try {
      options.afterCommit?.(event);
    } catch (err) {
      logger.warn({ err, event_id: event.envelope.eventId }, 'afterCommit hook failed');
    }
  }

  const processor = new DeliveryProcessor({
    db,
    consumer: consumerName,
    stream,
    handle,
    logger,
    retry: { maxDeliver: options.maxDeliver ?? 5, retryDelaysMs: options.retryDelaysMs?.length ? options.retryDelaysMs : defaultRetryDelaysMs },
    pause: new DatabasePause(options.unavailableRetryMs ?? 1_000, stream, logger, options.database),
    ...(options.verifier && { verifier: options.verifier }),
    notifyCommitted,
  });

  let stopping = false;
  const active = new Set<ConsumerMessages>();
  const pulling: PullLoopOptions = { js, stream, durables, maxMessages, logger, stopping: () => stopping, active, processBatch: (batch) => processor.processBatch(batch) };
  const loops = durables.all.map((durable) => pullLoop(pulling, durable));
  const stalled = options.nc ? new StalledDurables({ nc: options.nc, jsm, stream, durables: durables.all, logger }) : undefined;
  stalled?.start();
  logger.info({ stream, durables: durables.all.map((d) => d.name) }, 'consumer started');

  return {
    consumer: consumerName,
    stream,
    filterSubjects: [...options.filterSubjects],
    durableNames: durables.all.map((d) => d.name),
    recreatedDurables: () => durables.recreated(),
    accepts: (parked) =>
      parked.consumer === consumerName && parked.stream === stream && options.filterSubjects.some((filter) => subjectMatches(filter, parked.subject)),
    async stop() {
      stopping = true;
      await stalled?.stop();
      // close() lets the iterator hand out what was already pulled, and resolves once it did.
      await Promise.all([...active].map((m) => m.close().catch(() => undefined)));
      await Promise.all(loops);
    },
    replayParked: (id, replayOptions = {}) =>
      replayParked(db, id, handle, { logger, afterCommit: notifyCommitted, ...(options.verifier && { verifier: options.verifier }), ...replayOptions }),
  };
}
