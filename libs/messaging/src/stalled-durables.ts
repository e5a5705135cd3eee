import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@lotse/logger';
import type { Durable } from './durables.js';

/** One look at a durable (from its leader) and at its stream (from the stream's leader). */
export interface DurableLook {
  /** The last stream sequence the durable delivered. */
  deliveredSeq: number;
  /** What the durable's leader counts as not yet delivered. */
  numPending: number;
  numAckPending: number;
  /** Pull requests waiting at the durable: ours, when the pull loop is running. */
  numWaiting: number;
  /** Messages of the durable's filter that the stream's leader holds. */
  matching: number;
}

/**
 * Tells a durable whose leader has stopped seeing its stream. nats-server 2.9.10, after a node's
 * store was wiped and refilled, once left a durable's leader on a node whose stream replica had
 * stopped catching up (a fresh-clone CI run): that leader delivered from its stale replica, said
 * "nothing pending" to a waiting pull, and nothing was applied for minutes while the stream's
 * leader held 200 messages more. Stalled, here, is: a pull of ours is waiting, nothing is in
 * flight, the durable delivered nothing for `stallMs`, and yet either its own leader counts messages
 * pending or the stream's leader holds more of its messages than when it last delivered.
 */
export class StallDetector {
  private last: { deliveredSeq: number; matching: number; at: number } | undefined;

  constructor(private readonly stallMs: number) {}

  /** Whether the durable is stalled as of this look; a look that shows progress starts the clock again. */
  observe(look: DurableLook, now: number): boolean {
    if (!this.last || look.deliveredSeq !== this.last.deliveredSeq || look.matching < this.last.matching) {
      // Progress (or fewer messages than before: a stream made again): a new baseline.
      this.last = { deliveredSeq: look.deliveredSeq, matching: look.matching, at: now };
      return false;
    }
    if (now - this.last.at < this.stallMs) return false;
    if (look.numAckPending > 0 || look.numWaiting === 0) return false;
    return look.numPending > 0 || look.matching > this.last.matching;
  }

  /** After the broker was asked for a new leader: give it a whole window before judging again. */
  restart(now: number): void {
    if (this.last) this.last.at = now;
  }
}

export interface StalledDurablesOptions {
  nc: NatsConnection;
  jsm: JetStreamManager;
  stream: string;
  durables: readonly Durable[];
  logger: Logger;
  checkEveryMs?: number;
  stallMs?: number;
}

/**
 * Looks at the durables of one consumer every `checkEveryMs` and asks the broker to move a stalled
 * one's leadership to another node (`$JS.API.CONSUMER.LEADER.STEPDOWN`, what `nats consumer
 * cluster step-down` sends): the new leader takes the durable's replicated state and reads a
 * current replica. A durable that is not replicated (a single broker) is left alone: there is no
 * other replica to be stale against. Looks that fail (a broker away, an election) are skipped.
 */
export class StalledDurables {
  private readonly detectors = new Map<string, StallDetector>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stepDowns = 0;
  /** Whether this deployment may read the stream's counters (only the hub may). */
  private countsReadable = true;

  constructor(private readonly o: StalledDurablesOptions) {
    for (const d of o.durables) this.detectors.set(d.name, new StallDetector(o.stallMs ?? 30_000));
  }

  start(): void {
    this.timer = setInterval(() => {
      this.checking ??= this.checkAll().finally(() => (this.checking = undefined));
    }, this.o.checkEveryMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  /** Leaders the broker was asked to replace since start. */
  steppedDown(): number {
    return this.stepDowns;
  }

  async checkAll(): Promise<void> {
    for (const durable of this.o.durables) {
      try {
        await this.check(durable, Date.now());
      } catch (err) {
        this.o.logger.debug({ err, durable: durable.name }, 'could not look at the durable; next time');
      }
    }
  }

  /** Asks the broker to hand the durable's leadership to another of its replicas. */
  async stepDown(name: string): Promise<void> {
    const reply = await this.o.nc.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${this.o.stream}.${name}`, undefined, { timeout: 5_000 });
    const answer = reply.json<{ success?: boolean; error?: { code: number; description: string } }>();
    if (!answer.success) throw new Error(`step-down refused: ${answer.error?.description ?? 'no reason given'}`);
  }

  /**
   * Messages of the filter the stream's leader holds; 0 where this deployment may not read the
   * stream's counters (only the hub may: a spoke's would tell it the traffic to other agencies),
   * which leaves the durable's own pending count to judge by. A refusal stays, so it is not asked
   * again every 10 s; a broker away or electing is asked next time.
   */
  private async matchingMessages(filter: string): Promise<number> {
    if (!this.countsReadable) return 0;
    try {
      const stream = await this.o.jsm.streams.info(this.o.stream, { subjects_filter: filter });
      return Object.values(stream.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
    } catch (err) {
      if (/permission/i.test(String((err as Error)?.message ?? err))) this.countsReadable = false;
      return 0;
    }
  }

  private async check({ name, filter }: Durable, now: number): Promise<void> {
    const info: ConsumerInfo = await this.o.jsm.consumers.info(this.o.stream, name);
    if (!info.cluster?.replicas?.length) return;
    const matching = await this.matchingMessages(filter);
    const look: DurableLook = {
      deliveredSeq: info.delivered.stream_seq,
      numPending: info.num_pending,
      numAckPending: info.num_ack_pending,
      numWaiting: info.num_waiting,
      matching,
    };
    const detector = this.detectors.get(name)!;
    if (!detector.observe(look, now)) return;
    detector.restart(now);
    try {
      await this.stepDown(name);
    } catch (err) {
      this.o.logger.warn({ err, stream: this.o.stream, durable: name, leader: info.cluster.leader }, 'durable stalled, and the broker did not move its leader; will ask again');
      return;
    }
    this.stepDowns += 1;
    this.o.logger.warn(
      { stream: this.o.stream, durable: name, leader: info.cluster.leader, delivered_seq: look.deliveredSeq, pending: look.numPending, matching },
      'durable delivered nothing while its stream held more; asked the broker for another leader',
    );
  }
}
