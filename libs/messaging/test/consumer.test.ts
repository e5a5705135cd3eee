import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { v7 as uuidv7 } from 'uuid';
import {
  discardParked,
  ensureAgencyStream,
  eventSubject,
  listParked,
  ParkedMessageNotFoundError,
  startConsumer,
  type ConsumedEvent,
  type ConsumerHandle,
  type EventHandler,
} from '../src/index.js';
import { count, logger, randomAgencyId, setupSuite, waitFor, type Suite } from './support.js';

function encodedEnvelope(producer: string, eventType: string, eventId = uuidv7()): { eventId: string; bytes: Uint8Array } {
  const bytes = envelope.Envelope.encode({
    eventId,
    eventType,
    occurredAt: new Date(),
    producerAgencyId: producer,
    caseRef: 'case-1',
    schemaVersion: 1,
    payload: Buffer.from([1, 2, 3]),
  }).finish();
  return { eventId, bytes };
}

describe('consumer with applied_event dedup', () => {
  let suite: Suite;
  const producer = randomAgencyId();
  const consumers: ConsumerHandle[] = [];

  beforeAll(async () => {
    suite = await setupSuite();
    suite.agencies.push(producer);
    await ensureAgencyStream(suite.nats.jsm, producer);
  });
  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await suite?.cleanup();
  });

  /** Each test reads its own event type (subject) with its own durable, so tests do not see each other's messages. */
  async function consume(name: string, handle: EventHandler, extra: { maxDeliver?: number; afterCommit?: (e: ConsumedEvent) => void } = {}) {
    const consumer = await startConsumer({
      db: suite.db,
      js: suite.nats.js,
      jsm: suite.nats.jsm,
      logger,
      durableName: name,
      producerAgencyId: producer,
      filterSubjects: [eventSubject(producer, name)],
      maxDeliver: extra.maxDeliver ?? 3,
      retryDelaysMs: [50, 100],
      handle,
      afterCommit: extra.afterCommit,
    });
    consumers.push(consumer);
    return consumer;
  }

  const effects = (eventId: string) => count(suite.db, 'effect', sql`event_id = ${eventId}`);
  const appliedRows = (eventId: string) => count(suite.db, 'applied_event', sql`event_id = ${eventId}`);

  it('applies an event once when the same message is delivered twice', async () => {
    const committed: string[] = [];
    await consume(
      'Duplicated',
      async (trx, event) => {
        await trx.insertInto('effect').values({ event_id: event.envelope.eventId }).execute();
      },
      { afterCommit: (e) => committed.push(e.envelope.eventId) },
    );
    const { eventId, bytes } = encodedEnvelope(producer, 'Duplicated');
    // Two different Nats-Msg-Ids get past the broker's dedup; applied_event must catch the copy.
    await suite.nats.js.publish(eventSubject(producer, 'Duplicated'), bytes, { msgID: `${eventId}-a` });
    await suite.nats.js.publish(eventSubject(producer, 'Duplicated'), bytes, { msgID: `${eventId}-b` });
    const marker = encodedEnvelope(producer, 'Duplicated');
    await suite.nats.js.publish(eventSubject(producer, 'Duplicated'), marker.bytes, { msgID: marker.eventId });
    // The marker comes after both copies, so once it is applied both copies have been seen.
    await waitFor(async () => (await effects(marker.eventId)) === 1, 10_000, 'marker effect');
    expect(await effects(eventId)).toBe(1);
    expect(await appliedRows(eventId)).toBe(1);
    expect(committed).toEqual([eventId, marker.eventId]);
  });

  it('applies a backlog in shared transactions, and a failing event among them alone', async () => {
    const subject = eventSubject(producer, 'Backlog');
    const events = Array.from({ length: 30 }, () => encodedEnvelope(producer, 'Backlog'));
    const poison = events[17]!.eventId;
    // Published before the consumer starts: the whole backlog is waiting at once.
    for (const e of events) await suite.nats.js.publish(subject, e.bytes, { msgID: e.eventId });
    // A copy of an event under another Nats-Msg-Id, so it may land in the same batch as the original.
    await suite.nats.js.publish(subject, events[3]!.bytes, { msgID: `${events[3]!.eventId}-copy` });

    const transactions = new Set<unknown>();
    const handledIn = new Map<string, number>();
    const committed: string[] = [];
    await consume(
      'Backlog',
      async (trx, event) => {
        transactions.add(trx);
        handledIn.set(event.envelope.eventId, (handledIn.get(event.envelope.eventId) ?? 0) + 1);
        await trx.insertInto('effect').values({ event_id: event.envelope.eventId }).execute();
        if (event.envelope.eventId === poison && event.deliveryCount < 2) throw new Error('not yet');
      },
      { afterCommit: (e) => committed.push(e.envelope.eventId) },
    );
    await waitFor(async () => (await count(suite.db, 'effect', sql`event_id in (${sql.join(events.map((e) => e.eventId))})`)) === 30, 15_000, 'every effect');

    // Every event applied exactly once (the copy too, and the rolled-back batch left nothing)…
    for (const e of events) {
      expect(await effects(e.eventId)).toBe(1);
      expect(await appliedRows(e.eventId)).toBe(1);
    }
    // …in stream order for the first commit of each, and in fewer transactions than events.
    expect(new Set(committed)).toEqual(new Set(events.map((e) => e.eventId)));
    expect(committed.filter((id) => id !== poison)).toEqual(events.map((e) => e.eventId).filter((id) => id !== poison));
    expect(transactions.size).toBeLessThan(events.length);
    // The poison's batch was rolled back and its events ran again one by one, so they were handled more than once but applied once.
    expect(handledIn.get(poison)).toBeGreaterThanOrEqual(2);
    expect(await listParked(suite.db, 'Backlog')).toEqual([]);
  });

  it('retries a handler that fails transiently until it succeeds', async () => {
    const deliveries: number[] = [];
    await consume('Flaky', async (trx, event) => {
      deliveries.push(event.deliveryCount);
      await trx.insertInto('effect').values({ event_id: event.envelope.eventId }).execute();
      if (event.deliveryCount < 3) throw new Error('downstream not ready');
    });
    const { eventId, bytes } = encodedEnvelope(producer, 'Flaky');
    await suite.nats.js.publish(eventSubject(producer, 'Flaky'), bytes, { msgID: eventId });
    await waitFor(async () => (await effects(eventId)) === 1, 10_000, 'effect after retries');
    expect(deliveries).toEqual([1, 2, 3]);
    expect(await appliedRows(eventId)).toBe(1);
    expect(await listParked(suite.db, 'Flaky')).toEqual([]);
  });

  it('parks a malformed message after maxDeliver deliveries and goes on with the next one', async () => {
    await consume('Malformed', async (trx, event) => {
      await trx.insertInto('effect').values({ event_id: event.envelope.eventId }).execute();
    });
    const subject = eventSubject(producer, 'Malformed');
    await suite.nats.js.publish(subject, new TextEncoder().encode('not a protobuf envelope'), { msgID: uuidv7() });
    const good = encodedEnvelope(producer, 'Malformed');
    await suite.nats.js.publish(subject, good.bytes, { msgID: good.eventId });

    await waitFor(async () => (await effects(good.eventId)) === 1, 10_000, 'good message effect');
    await waitFor(async () => (await listParked(suite.db, 'Malformed')).length === 1, 10_000, 'parked message');
    const [parked] = await listParked(suite.db, 'Malformed');
    expect(parked).toMatchObject({ consumer: 'Malformed', subject, eventId: null, deliveries: 3 });
    expect(parked!.error).toMatch(/malformed event/);
    // Terminated at the broker: nothing left pending or unacknowledged.
    await waitFor(async () => {
      const info = await suite.nats.jsm.consumers.info(parked!.stream, 'Malformed__malformed');
      return info.num_ack_pending + info.num_pending === 0;
    }, 5_000, 'terminated and acknowledged');

    expect(await discardParked(suite.db, parked!.id)).toBe(true);
    expect(await discardParked(suite.db, parked!.id)).toBe(false);
    expect(await listParked(suite.db, 'Malformed')).toEqual([]);
    expect((await listParked(suite.db, 'Malformed', { includeResolved: true }))[0]!.discardedAt).toBeInstanceOf(Date);
  });

  it('leaves no applied_event row when the handler rolls back, and a replay applies the parked event once', async () => {
    let broken = true;
    const consumer = await consume('RolledBack', async (trx, event) => {
      await trx.insertInto('effect').values({ event_id: event.envelope.eventId, note: 'written before the failure' }).execute();
      if (broken) throw new Error('constraint the handler did not expect');
    }, { maxDeliver: 2 });
    const { eventId, bytes } = encodedEnvelope(producer, 'RolledBack');
    await suite.nats.js.publish(eventSubject(producer, 'RolledBack'), bytes, { msgID: eventId });
    await waitFor(async () => (await listParked(suite.db, 'RolledBack')).length === 1, 10_000, 'parked message');
    expect(await effects(eventId)).toBe(0);
    expect(await appliedRows(eventId)).toBe(0);

    const [parked] = await listParked(suite.db, 'RolledBack');
    expect(parked).toMatchObject({ eventId, deliveries: 2 });
    await expect(consumer.replayParked(parked!.id)).rejects.toThrow(/did not expect/);
    expect(await effects(eventId)).toBe(0);

    broken = false;
    expect(await consumer.replayParked(parked!.id)).toBe('handled');
    expect(await effects(eventId)).toBe(1);
    expect(await appliedRows(eventId)).toBe(1);
    await expect(consumer.replayParked(parked!.id)).rejects.toThrow(ParkedMessageNotFoundError);
    expect(await listParked(suite.db, 'RolledBack')).toEqual([]);
  });

  it('stops cleanly and resumes where it left off', async () => {
    const seen: string[] = [];
    const handle: EventHandler = async (trx, event) => {
      seen.push(event.envelope.eventId);
      await trx.insertInto('effect').values({ event_id: event.envelope.eventId }).execute();
    };
    const first = await consume('Resumed', handle);
    const a = encodedEnvelope(producer, 'Resumed');
    await suite.nats.js.publish(eventSubject(producer, 'Resumed'), a.bytes, { msgID: a.eventId });
    await waitFor(() => seen.length === 1, 10_000, 'first event');
    await first.stop();

    const b = encodedEnvelope(producer, 'Resumed');
    await suite.nats.js.publish(eventSubject(producer, 'Resumed'), b.bytes, { msgID: b.eventId });
    await consume('Resumed', handle);
    await waitFor(() => seen.length === 2, 10_000, 'second event');
    expect(seen).toEqual([a.eventId, b.eventId]);
  });
});
