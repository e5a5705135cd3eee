import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from '@lotse/logger';
import { sql, type Kysely } from 'kysely';
import { isDatabaseUnavailable, type DatabaseAvailability } from '@lotse/db';
import { defaultLogger } from './logger.js';
import { msgIdOf, outboxBacklog } from './outbox.js';
import { publishRow, type PublishTo } from './outbox-publish.js';
import { OutboxStream } from './outbox-stream.js';
import type { StreamReconcileStatus } from './stream-reconciler.js';
import type { EventSigner } from './signing.js';
import { messagingDb } from './tables.js';

export interface OutboxRelayOptions {
  db: Kysely<any>;
  js: JetStreamClient;
  logger?: Logger;
  producerAgencyId: string;
  /** Fallback poll when no notify() comes (another process enqueued, a notify was lost). */
  pollIntervalMs?: number;
  batch?: number;
  /** Upper bound of the back-off after failed publishes. */
  maxBackoffMs?: number;
  /**
   * How often the relay looks whether the broker still has its stream (and how far consumers
   * confirmed); a broker that lost it is noticed within this, or at the next failed publish.
   */
  streamCheckIntervalMs?: number;
  /** While the database is away the relay does not query it; it backs off until it is back. */
  database?: DatabaseAvailability;
  /** Replicas of the stream when the relay has to make it again (1; 3 on the hub's cluster). */
  streamReplicas?: number;
  /**
   * Signs every event with the deployment's certificate key (headers Lotse-Signature/-Signer), at
   * each publish: a resend or a re-publish after a broker reset carries a fresh signature over the
   * same bytes, and a rotated certificate is used from the next publish on.
   */
  signer?: EventSigner;
}


/**
 * Publishes outbox rows to JetStream with Nats-Msg-Id = event id, in insertion order (a failed row
 * stops the batch, so later events never overtake it). Rows are marked only
 * after the broker's ack, once per batch; if the process dies in between, they go out again and
 * the stream's duplicate window (or the consumer's applied_event table) absorbs the copies. Rows are never deleted.
 * A StreamReconciler checks the stream every few seconds: if the broker lost it, the relay makes it
 * again and sends once more what the stream's consumers had not confirmed.
 */
export class OutboxRelay {
  private readonly db: Kysely<any>;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;
  private readonly batch: number;
  private readonly maxBackoffMs: number;

  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private notified = false;
  private failures = 0;
  private readonly stream: OutboxStream;
  private readonly publishing: PublishTo;
  private readonly database: DatabaseAvailability | undefined;
  private databaseAwaySince = 0;

  constructor(options: OutboxRelayOptions) {
    this.db = options.db;
    this.logger = options.logger ?? defaultLogger;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.batch = options.batch ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.database = options.database;
    this.stream = new OutboxStream(this.db, options.js, options.producerAgencyId, this.logger, options.streamReplicas ?? 1, options.streamCheckIntervalMs ?? 2_000);
    this.publishing = { db: this.db, js: options.js, logger: this.logger, signer: options.signer, stream: this.stream };
  }


  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Waits for the batch in flight; what is left stays in the outbox for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** Call after a transaction that enqueued events has committed: publish now, not at the next poll. */
  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /** Events not yet acknowledged by the broker. */
  backlog(): Promise<number> {
    return outboxBacklog(this.db);
  }

  /**
   * Operator reconciliation: sends again what was published since `since`, or by default what the
   * stream's consumers have not confirmed. Copies are dropped by Nats-Msg-Id and the consumers' applied_event tables.
   */
  async reconcile(since?: Date, trx?: Kysely<any>): Promise<number> {
    const n = await this.stream.reconciler.republishUnconfirmed(since, trx);
    this.logger.info({ republish: n, since: since?.toISOString() }, 'outbox relay: reconciling; re-publishing events');
    // Inside a caller's transaction the rows are not visible yet: the caller notifies after its commit.
    if (!trx) this.notify();
    return n;
  }

  /** Resets of the stream seen so far and how far the consumers confirmed (the operator view). */
  streamStatus(): Promise<StreamReconcileStatus> {
    return this.stream.reconciler.status();
  }

  /** Publishes until the outbox is empty or a publish fails; for tests and one-off scripts. */
  async flush(): Promise<number> {
    let total = 0;
    for (;;) {
      const { published, failed, full } = await this.publishBatch(() => false);
      total += published;
      if (failed) throw new Error('outbox relay: a publish failed; see the log');
      if (!full) return total;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.notified = false;
      let result: BatchResult;
      try {
        if (this.database && !this.database.isUp()) throw new DatabaseAwayError();
        // Between batches, in this loop: a rewind never races a batch that is marking rows.
        if (this.stream.checkDue()) await this.periodicCheck();
        result = await this.publishBatch(() => !this.running);
        if (this.databaseAwaySince) {
          this.logger.info({ away_ms: Date.now() - this.databaseAwaySince }, 'outbox relay: database back; publishing again');
          this.databaseAwaySince = 0;
        }
      } catch (err) {
        if (err instanceof DatabaseAwayError || isDatabaseUnavailable(err)) {
          // Once per outage, not once per attempt: the back-off below tries again.
          this.database?.noteError(err);
          if (!this.databaseAwaySince) {
            this.databaseAwaySince = Date.now();
            this.logger.warn({ err: (err as Error).message }, 'outbox relay: database unavailable; backing off');
          }
        } else {
          // The stream check or the database query failed; treat it like a failed publish.
          this.logger.error({ err }, 'outbox relay: checking the stream or reading the outbox failed');
        }
        result = { published: 0, failed: true, full: false };
      }
      if (!this.running) break;
      if (result.failed) {
        this.failures += 1;
        // Bounded exponential back-off; notify() does not cut it short, or every commit during a
        // broker outage would trigger another doomed attempt.
        await this.sleep(Math.min(this.pollIntervalMs * 2 ** (this.failures - 1), this.maxBackoffMs), false);
        continue;
      }
      this.failures = 0;
      if (result.full || this.notified) continue;
      await this.sleep(this.pollIntervalMs, true);
    }
  }

  /**
   * The look every few seconds. When it fails but the stream is known, publishing goes on: in a
   * 2 | 1 partition, or while the cluster elects its meta leader, the look's API requests fail or
   * time out although the stream's quorum takes every publish. Gating each batch on the look held
   * the outbox back for as long as the cluster's API was away (the netns test's partition).
   */
  private async periodicCheck(): Promise<void> {
    try {
      await this.stream.check();
    } catch (err) {
      if (!this.stream.known()) throw err;
      this.logger.warn({ err: (err as Error).message }, 'outbox relay: looking at the stream failed; publishing on, looking again later');
    }
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === wakeUp) this.wake = undefined;
        resolve();
      };
      // stop() always ends the wait; notify() only when idle.
      const wakeUp = (): void => {
        if (wakeable || !this.running) done();
      };
      timer = setTimeout(done, ms);
      this.wake = wakeUp;
    });
  }

  private async publishBatch(stopping: () => boolean): Promise<BatchResult> {
    const rows = await messagingDb(this.db)
      .selectFrom('outbox')
      .select(['event_id', 'subject', 'event_type', 'case_ref', 'payload', 'headers', 'attempts', 'resends'])
      .where('published_at', 'is', null)
      .orderBy('seq')
      .limit(this.batch)
      .execute();
    const acked: string[] = [];
    let failed = false;
    let stopped = false;
    // All at once first: each publish after the first expects the one before it to be the stream's
    // last message (only this relay writes to the agency's stream), so the broker stores them in
    // outbox order and refuses everything after one that failed — nothing overtakes a failed row.
    // One at a time, a busy two-core machine spent ~10 ms per broker round trip and the hub's
    // outbox fell ~700 events behind under the scenario; in flight together, the round trips overlap.
    let next = 0;
    // A stream that cannot be made leaves the rows to the one-at-a-time path, which records the failure.
    if (rows.length > 1 && (await this.stream.ensure().then(() => true, () => false))) {
      const results = await Promise.all(rows.map((row, i) => publishRow(this.publishing, row, { expectAfter: i > 0 ? msgIdOf(rows[i - 1]!) : undefined, recordFailure: false })));
      while (next < rows.length && results[next]) acked.push(rows[next++]!.event_id);
    }
    // The rest one after another, as before: after a refusal, and when a row the broker already had
    // (a copy after a crash) is not the stream's last message, so the next one's expectation failed.
    for (const row of rows.slice(next)) {
      if (!(await publishRow(this.publishing, row))) {
        failed = true;
        break;
      }
      acked.push(row.event_id);
      // stop() waits for the batch, but need not wait for a hundred more round trips.
      if (stopping()) {
        stopped = true;
        break;
      }
    }
    // One statement (one commit) marks what the broker acknowledged, instead of one per event:
    // on an embedded database each commit costs a WAL write. Dying before it only means these
    // go out again, and the stream's duplicate window (or the consumer's applied_event table) drops the copies.
    // `= any(array)`: one statement text whatever the batch size, so it is prepared once.
    if (acked.length > 0) {
      await messagingDb(this.db)
        .updateTable('outbox')
        .set({ published_at: new Date() })
        .where(sql<boolean>`event_id = any(${acked}::text[])`)
        .execute();
    }
    return { published: acked.length, failed, full: !failed && !stopped && rows.length === this.batch };
  }
}

class DatabaseAwayError extends Error {
  constructor() {
    super('the database is unavailable');
    this.name = 'DatabaseAwayError';
  }
}

interface BatchResult {
  published: number;
  failed: boolean;
  /** The batch was full, so more rows may be waiting. */
  full: boolean;
}
