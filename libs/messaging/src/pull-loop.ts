import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from '@lotse/logger';
import { waitingBatches } from './batches.js';
import type { Durable, Durables } from './durables.js';

const pullExpiresMs = 5_000;
const heartbeatMs = 1_000;

export interface PullLoopOptions {
  js: JetStreamClient;
  stream: string;
  durables: Durables;
  maxMessages: number;
  logger: Logger;
  stopping(): boolean;
  /** The open pulls, so that stop() can close them; the loop adds and removes its own. */
  active: Set<ConsumerMessages>;
  processBatch(batch: JsMsg[]): Promise<void>;
}

/**
 * Pulls one durable's messages and hands them on in batches of what waited, until stopped. A
 * failed pull (a lost durable or stream, a broker away) is healed and started again.
 */
export async function pullLoop(o: PullLoopOptions, { filter, name: durable }: Durable): Promise<void> {
  while (!o.stopping()) {
    let messages: ConsumerMessages | undefined;
    try {
      const consumer = await o.js.consumers.get(o.stream, durable);
      // Without abort_on_missing_resource the client retries a vanished durable forever and the
      // loop never learns of it; with it, the iterator ends and heal() makes the durable again.
      // A deleted stream answers nothing, so only missed heartbeats reveal it: two missed at 1 s
      // (instead of 15 s by default) find it within seconds, for one small message a second.
      messages = await consumer.consume({ max_messages: o.maxMessages, abort_on_missing_resource: true, expires: pullExpiresMs, idle_heartbeat: heartbeatMs });
      o.active.add(messages);
      if (o.stopping()) await messages.close();
      // Sequential on purpose: events of one subject are applied in stream order.
      for await (const batch of waitingBatches(messages, o.maxMessages)) await o.processBatch(batch);
    } catch (err) {
      if (o.stopping()) break;
      // Before the producer has made its stream there is no durable yet: expected, not an error.
      const waiting = !o.durables.exists(durable);
      if (!waiting) o.logger.error({ err, durable }, 'consumer loop failed; restarting');
      // A durable the broker lost is made again at once; anything else waits a second first.
      const recreated = await o.durables.heal(filter, durable).catch((healErr) => {
        if (waiting) o.logger.debug({ err: healErr, durable }, 'still waiting for the producer to make its stream');
        else o.logger.error({ err: healErr, durable }, 'recreating the durable consumer failed; will retry');
        return false;
      });
      if (!recreated) await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      if (messages) o.active.delete(messages);
    }
  }
}
