import type { ConsumerInfo, StreamInfo } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import { sql, type Kysely } from '@lotse/db';
import { durableNameFor, enqueueEvent, OutboxRelay, startConsumer, streamName, type EventConsumer } from '../src/index.js';
import { count, logger, randomAgencyId, setupSuite, startTestBroker, waitFor, type Suite, type TestBroker } from './support.js';

// The broker is not the source of truth: when it forgets (store wiped, stream deleted, a fresh
// broker on the same port), producer and consumer must rebuild their stream and durables by
// themselves and every event must still take effect exactly once — with no process restarted.
// Each test runs its own nats-server (never the shared one on 4222) and its own database.

/** Recovery must finish within this; the measured figures are printed and go into the README. */
const recoveryBoundMs = 30_000;

interface World {
  broker: TestBroker;
  suite: Suite;
  producer: string;
  relay: OutboxRelay;
  consumer: EventConsumer;
  gate: Gate;
}

/** Holds the consumer's handler, so events wait in the broker as they would behind a slow consumer. */
class Gate {
  private release: (() => void) | undefined;
  private closed: Promise<void> = Promise.resolve();
  close(): void {
    if (this.release) return;
    this.closed = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release?.();
    this.release = undefined;
  }
  pass(): Promise<void> {
    return this.closed;
  }
}

const worlds: World[] = [];

async function startWorld(o: { ackWaitMs?: number } = {}): Promise<World> {
  const broker = await startTestBroker();
  const suite = await setupSuite({ servers: broker.url });
  const producer = randomAgencyId();
  const gate = new Gate();
  const relay = new OutboxRelay({ db: suite.db, js: suite.nats.js, logger, producerAgencyId: producer });
  relay.start();
  const consumer = await startConsumer({
    db: suite.db,
    js: suite.nats.js,
    jsm: suite.nats.jsm,
    logger,
    durableName: 'recipient',
    producerAgencyId: producer,
    filterSubjects: [`lotse.${producer}.>`],
    maxMessages: 10,
    ...o,
    handle: async (trx, event) => {
      await gate.pass();
      await trx.insertInto('effect').values({ event_id: event.envelope.eventId, note: event.subject }).execute();
    },
  });
  const world = { broker, suite, producer, relay, consumer, gate };
  worlds.push(world);
  return world;
}

afterEach(async () => {
  for (const w of worlds.splice(0)) {
    w.gate.open();
    await w.consumer.stop().catch(() => undefined);
    await w.relay.stop().catch(() => undefined);
    await w.suite.cleanup().catch(() => undefined);
    await w.broker.cleanup();
  }
});

/** One referral's event, committed the way a service commits one (its own transaction), then notify. */
async function request(w: World, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      await w.suite.db.transaction().execute((trx) =>
        enqueueEvent(trx, { producerAgencyId: w.producer, eventType: 'ReferralRequested', caseRef: `c-${i}`, payload: new Uint8Array([i % 256]) }),
      ),
    );
    w.relay.notify();
  }
  return ids;
}

/** Direct SQL on the consumer's tables: how many events took effect, none lost, none twice. */
async function accounting(db: Kysely<any>): Promise<{ events: number; applied: number; lost: number; doubled: number; recorded: number }> {
  const { rows } = await sql<{ events: number; applied: number; lost: number; doubled: number; recorded: number }>`
    select (select count(*)::int from outbox) as events,
           (select count(distinct event_id)::int from effect) as applied,
           (select count(*)::int from outbox o where not exists (select 1 from effect e where e.event_id = o.event_id)) as lost,
           (select count(*)::int from (select event_id from effect group by event_id having count(*) > 1) d) as doubled,
           (select count(*)::int from applied_event where consumer = 'recipient') as recorded`.execute(db);
  return rows[0]!;
}

/** Waits until every outbox event took effect; returns how long that took from `since`. */
async function recovered(w: World, expected: number, since: number, what: string): Promise<number> {
  try {
    await waitFor(async () => (await count(w.suite.db, 'effect')) >= expected, recoveryBoundMs, `${what}: ${expected} effects`);
  } catch (error) {
    // Say how far it got: the figure the report is made of.
    throw new Error(`${(error as Error).message}; got ${JSON.stringify(await accounting(w.suite.db))}`);
  }
  const ms = Date.now() - since;
  // Let late copies arrive: a re-published event that slipped past dedup would show up now.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const result = await accounting(w.suite.db);
  console.log(`[broker-loss] ${what}: all ${expected} events applied ${ms} ms after the broker lost them`, result);
  expect(result).toEqual({ events: expected, applied: expected, lost: 0, doubled: 0, recorded: expected });
  expect(await w.relay.backlog()).toBe(0);
  return ms;
}

async function published(w: World, messages: number): Promise<void> {
  await waitFor(async () => (await w.relay.backlog()) === 0, 15_000, 'outbox published');
  await waitFor(async () => (await w.suite.nats.jsm.streams.info(streamName(w.producer))).state.messages >= messages, 15_000, 'events in the stream');
}

describe('the broker loses its data; nothing is lost', () => {
  it('store wiped with events waiting in it: the stream and durable come back, the waiting events are re-published', async () => {
    const w = await startWorld();
    w.gate.close();
    await request(w, 100);
    // The broker acknowledged all 100: the outbox marks them published; the consumer holds them.
    await published(w, 100);
    await w.broker.wipe();
    const back = Date.now();
    await request(w, 100);
    w.gate.open();
    await recovered(w, 200, back, 'store wiped with 100 events waiting, 100 more after');
  });

  it('store wiped mid-burst: every event of the burst takes effect once', async () => {
    const w = await startWorld();
    const burst = 300;
    const perSecond = 50;
    let back = 0;
    const outage = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      // The broker crashes, stays away for 2 s, and comes back with an empty store.
      await w.broker.kill();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await w.broker.wipe();
      back = Date.now();
    })();
    for (let i = 0; i < burst; i++) {
      const started = Date.now();
      await request(w, 1);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_000 / perSecond - (Date.now() - started))));
    }
    await outage;
    await recovered(w, burst, back, `store wiped mid-burst (${burst} at ${perSecond}/s, broker away 2 s)`);
  });

  it('a stream deleted by an operator mistake: it is recreated and nothing it held is lost', async () => {
    const w = await startWorld();
    await request(w, 50);
    await waitFor(async () => (await count(w.suite.db, 'effect')) === 50, 15_000, 'first 50 applied');
    w.gate.close();
    await request(w, 50);
    await published(w, 100);
    await w.suite.nats.jsm.streams.delete(streamName(w.producer));
    const deleted = Date.now();
    await request(w, 50);
    w.gate.open();
    await recovered(w, 150, deleted, 'stream deleted with 50 events waiting, 50 more after');
  });

  it('the broker replaced by a fresh one on the same port: consumed events stay consumed, the rest arrive once', async () => {
    const w = await startWorld();
    await request(w, 50);
    await waitFor(async () => (await count(w.suite.db, 'effect')) === 50, 15_000, 'first 50 applied');
    // The relay learns from the durable's ack floor that these 50 were applied everywhere.
    await waitFor(async () => (await w.relay.streamStatus()).confirmedBefore !== null, 10_000, 'the first 50 confirmed');
    w.gate.close();
    await request(w, 50);
    await published(w, 100);
    await w.broker.kill();
    await w.broker.start({ fresh: true });
    const back = Date.now();
    await request(w, 50);
    w.gate.open();
    await recovered(w, 150, back, 'fresh broker with 50 events waiting, 50 more after');
    // Only what was not confirmed went out again: the 50 waiting, and of the 50 after at most
    // those the relay had put into the new stream before it noticed — never the first 50.
    const status = await w.relay.streamStatus();
    expect(status.resets).toBe(1);
    expect(status.republished).toBeGreaterThanOrEqual(50);
    expect(status.republished).toBeLessThanOrEqual(100);
  });

  it('the broker back on an older copy of its store (acknowledged writes lost): the missing events are re-published', async () => {
    const w = await startWorld();
    await request(w, 30);
    await waitFor(async () => (await count(w.suite.db, 'effect')) === 30, 15_000, 'first 30 applied');
    await w.broker.saveStore();
    w.gate.close();
    await request(w, 50);
    await published(w, 80);
    // Same stream, same creation time, but the 50 the broker acknowledged since the copy are gone.
    await w.broker.restoreStore();
    const back = Date.now();
    await request(w, 20);
    w.gate.open();
    await recovered(w, 100, back, 'older store: 50 acknowledged events lost, 20 more after');
    expect((await w.relay.streamStatus()).resets).toBe(1);
  });

  it('the stream back on older messages while its durable kept its newer position: nothing published since is skipped', async () => {
    // A netns CI run: a lagging replica led the stream for a moment after a node's store was wiped;
    // the stream's last sequence fell below what the hub's durable had delivered, and the durable
    // passed over every message the stream then took at the sequences it had delivered before.
    const w = await startWorld({ ackWaitMs: 5_000 });
    await request(w, 30);
    await waitFor(async () => (await count(w.suite.db, 'effect')) === 30, 15_000, 'first 30 applied');
    await w.broker.saveStore();
    await request(w, 50);
    await waitFor(async () => (await count(w.suite.db, 'effect')) === 80, 15_000, 'next 50 applied');
    // The relay learns that all 80 were applied: after the loss it re-publishes none of them.
    const applied = new Date();
    // (Acks sent while the client reconnected after the copy are lost: those wait for ack_wait.)
    await waitFor(async () => ((await w.relay.streamStatus()).confirmedBefore ?? new Date(0)) >= applied, 20_000, 'all 80 confirmed');
    await w.broker.restoreStore({ messagesOnly: true });
    // The client reconnects first: the look is retried until the broker answers.
    let look: [StreamInfo, ConsumerInfo] | undefined;
    const lookAt = () => Promise.all([w.suite.nats.jsm.streams.info(streamName(w.producer)), w.suite.nats.jsm.consumers.info(streamName(w.producer), durableNameFor('recipient', `lotse.${w.producer}.>`))] as const);
    await waitFor(async () => (look = await lookAt().catch(() => undefined)) !== undefined, 15_000, 'the broker back');
    const [info, durable] = look!;
    expect(durable.delivered.stream_seq, 'the durable stands beyond the stream').toBeGreaterThan(info.state.last_seq);
    const back = Date.now();
    await request(w, 20);
    await recovered(w, 100, back, 'stream on older messages, durable ahead of it, 20 more after');
    expect((await w.relay.streamStatus()).resets).toBe(1);
  });

  it('kill -9 on an intact store is no reset: nothing is re-published, nothing lost', async () => {
    const w = await startWorld();
    await request(w, 50);
    await waitFor(async () => (await count(w.suite.db, 'effect')) === 50, 15_000, 'first 50 applied');
    w.gate.close();
    await request(w, 50);
    await published(w, 100);
    await w.broker.kill();
    await w.broker.start();
    const back = Date.now();
    await request(w, 50);
    w.gate.open();
    await recovered(w, 150, back, 'kill -9 with the store intact, 50 events waiting, 50 more after');
    expect((await w.relay.streamStatus()).resets).toBe(0);
    expect(w.consumer.recreatedDurables()).toBe(0);
  });
});
