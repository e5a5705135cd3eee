// The relay's view of its agency's stream: made if it is missing, and checked again every few
// seconds or after a failed publish (a broker that lost the stream gets it back, with what its
// consumers had not confirmed, through the StreamReconciler).
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@lotse/logger';
import type { Kysely } from 'kysely';
import { StreamReconciler, type StreamCheck } from './stream-reconciler.js';

export class OutboxStream {
  readonly reconciler: StreamReconciler;
  private ready = false;
  private nextCheck = 0;
  private jsm: Promise<JetStreamManager> | undefined;

  constructor(
    db: Kysely<any>,
    js: JetStreamClient,
    producerAgencyId: string,
    logger: Logger,
    replicas: number,
    private readonly checkIntervalMs: number,
  ) {
    this.reconciler = new StreamReconciler(
      db,
      // No API check per call: the manager is made once and reused for every stream check.
      () => (this.jsm ??= js.jetstreamManager(false).catch((err) => {
        this.jsm = undefined;
        throw err;
      })),
      producerAgencyId,
      logger,
      replicas,
    );
  }

  /** Whether the periodic check is due, or a publish ack showed the stream went back. */
  checkDue(): boolean {
    return Date.now() >= this.nextCheck || this.reconciler.suspectsLoss();
  }

  /** Checks the stream once (again after a failed publish: the broker may have lost it). */
  async ensure(): Promise<void> {
    if (this.ready) return;
    await this.check();
  }

  /**
   * A failed look does not make a known stream unknown: the look needs the cluster's JetStream API
   * (its meta leader), which a partition or an election can take away for minutes while the
   * stream's own replicas still take writes. Only a publish that finds no stream (lost()) does.
   */
  async check(): Promise<StreamCheck> {
    this.nextCheck = Date.now() + this.checkIntervalMs;
    const check = await this.reconciler.check();
    this.ready = true;
    return check;
  }

  /** Whether the stream is known to exist (a look found or made it, and no publish found it gone since). */
  known(): boolean {
    return this.ready;
  }

  /** A publish found no stream (deleted, never made, a broker that forgot): look again before the next one. */
  lost(): void {
    this.ready = false;
  }
}
