import { AckPolicy, DeliverPolicy, JetStreamApiError, ReplayPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from '@lotse/logger';

const consumerNotFound = 10014;
const streamNotFound = 10059;

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

export interface Durable {
  filter: string;
  name: string;
}

/** The durables of one consumer on its producer's stream: made at start, made again when the broker lost them. */
export class Durables {
  readonly all: Durable[];
  /** Durables that existed once: only making one of these again is a recovery (the broker lost it). */
  private readonly made = new Set<string>();
  private healed = 0;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    durableName: string,
    filterSubjects: string[],
    private readonly ackWaitMs: number,
    private readonly logger: Logger,
  ) {
    this.all = filterSubjects.map((filter) => ({ filter, name: durableNameFor(durableName, filter) }));
  }

  private config(filter: string, name: string) {
    return {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      replay_policy: ReplayPolicy.Instant,
      ack_wait: nanos(this.ackWaitMs),
      // Unlimited at the broker: we park after maxDeliver ourselves, and a broker-side limit would
      // drop a message silently if we crashed before parking it.
      max_deliver: -1,
      filter_subject: filter,
    };
  }

  async createAll(): Promise<void> {
    for (const { filter, name } of this.all) {
      // An identical create succeeds on the server, and a changed ack_wait/max_deliver is applied,
      // so creating on every start is idempotent and keeps the config as the code says.
      // The producer's stream is the producer's: a consumer never creates it (the broker refuses
      // that anyway). Until the producer has made it, the pull loop retries every second.
      try {
        await this.jsm.consumers.add(this.stream, this.config(filter, name));
        this.made.add(name);
      } catch (err) {
        if (!(err instanceof JetStreamApiError && err.code === streamNotFound)) throw err;
        this.logger.info({ stream: this.stream, durable: name }, 'the producer has not made its stream yet; waiting for it');
      }
    }
  }

  /** Whether the durable was made (before the producer has made its stream there is none yet). */
  exists(name: string): boolean {
    return this.made.has(name);
  }

  /** Durables made again since start because the broker had lost them. */
  recreated(): number {
    return this.healed;
  }

  /**
   * After the consume loop failed: if the broker no longer has the stream or the durable (a wiped
   * store, a fresh broker, a deleted stream), make them again with the same configuration, so the
   * consumer resumes without a restart. DeliverPolicy.All reads the new stream from its start; the
   * applied_event table drops whatever the producer re-publishes that was applied before.
   */
  async heal(filter: string, name: string): Promise<boolean> {
    try {
      await this.jsm.consumers.info(this.stream, name);
      return false;
    } catch (err) {
      const code = err instanceof JetStreamApiError ? err.code : undefined;
      if (code !== consumerNotFound && code !== streamNotFound) throw err;
    }
    // A missing stream throws here and is retried after a second: its producer makes it again.
    await this.jsm.consumers.add(this.stream, this.config(filter, name));
    if (this.made.has(name)) {
      this.healed += 1;
      this.logger.warn({ stream: this.stream, durable: name, filter }, 'broker had lost the durable consumer; recreated it');
    } else {
      this.made.add(name);
      this.logger.info({ stream: this.stream, durable: name, filter }, 'the producer made its stream; durable consumer created');
    }
    return true;
  }
}
