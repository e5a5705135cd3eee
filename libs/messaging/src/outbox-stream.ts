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

  /** Whether the periodic check is due. */
  checkDue(): boolean {
    return Date.now() >= this.nextCheck;
  }

  /** Checks the stream once (again after a failed publish: the broker may have lost it). */
  async ensure(): Promise<void> {
    if (this.ready) return;
    await this.check();
  }

  async check(): Promise<StreamCheck> {
    this.nextCheck = Date.now() + this.checkIntervalMs;
    try {
      const check = await this.reconciler.check();
      this.ready = true;
      return check;
    } catch (err) {
      this.ready = false;
      throw err;
    }
  }

  /** A publish failed: the stream may have been deleted or never created; look again on the next attempt. */
  lost(): void {
    this.ready = false;
  }
}
