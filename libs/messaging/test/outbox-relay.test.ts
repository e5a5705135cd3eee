import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, events } from '@lotse/contracts';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { migrateToLatest, openDatabase, sql } from '@lotse/db';
import {
  decodeEnvelope,
  enqueue,
  enqueueEvent,
  ensureAgencyStream,
  eventSubject,
  outboxMigrations,
  OutboxRelay,
  republishSince,
  rewriteOutboxPayloads,
  streamName,
} from '../src/index.js';
import { count, logger, natsUrl, randomAgencyId, setupSuite, waitFor, type Suite } from './support.js';

describe('outbox and relay', () => {
  let suite: Suite;
  beforeAll(async () => {
    suite = await setupSuite();
  });
  afterAll(async () => {
    await suite?.cleanup();
  });

  it('creates the agency stream idempotently, also when two callers race', async () => {
    const agency = randomAgencyId();
    suite.agencies.push(agency);
    const [a, b] = await Promise.all([ensureAgencyStream(suite.nats.jsm, agency), ensureAgencyStream(suite.nats.jsm, agency)]);
    expect(a.config.name).toBe(streamName(agency));
    expect(b.config.subjects).toEqual([`lotse.${agency}.>`]);
    expect(a.config.duplicate_window).toBe(120_000_000_000);
    const again = await ensureAgencyStream(suite.nats.jsm, agency);
    expect(again.config.storage).toBe('file');
  });

  it('publishes every event once, in order, and a re-publish after a crash is deduplicated', async () => {
    const agency = randomAgencyId();
    suite.agencies.push(agency);
    const { db, nats } = suite;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      await db.transaction().execute(async (trx) => {
        // Two events in one transaction, as a state change with two facts would produce.
        ids.push(
          await enqueue(trx, agency, events.ReferralReceived, 'ReferralReceived', { referralId: `r-${i}`, caseRef: `c-${i}`, providerId: 'p' }, `c-${i}`),
        );
        ids.push(await enqueueEvent(trx, { producerAgencyId: agency, eventType: 'ReferralAccepted', caseRef: `c-${i}`, payload: new Uint8Array([i]), audience: 'hub' }));
      });
    }
    const relay = new OutboxRelay({ db, js: nats.js, logger, producerAgencyId: agency, batch: 5, pollIntervalMs: 5_000 });
    expect(await relay.backlog()).toBe(24);
    relay.start();
    relay.notify();
    await waitFor(async () => (await relay.backlog()) === 0, 10_000, 'empty outbox');
    await relay.stop();

    const stream = streamName(agency);
    expect((await nats.jsm.streams.info(stream)).state.messages).toBe(24);
    for (let seq = 1; seq <= 24; seq++) {
      const msg = (await nats.jsm.streams.getMessage(stream, { seq }))!;
      const env = decodeEnvelope(msg.data);
      expect(env.eventId).toBe(ids[seq - 1]);
      expect(msg.header.get('Nats-Msg-Id')).toBe(env.eventId);
      expect(env.producerAgencyId).toBe(agency);
      expect(env.schemaVersion).toBe(1);
      expect(msg.subject).toBe(seq % 2 === 1 ? eventSubject(agency, 'ReferralReceived') : `lotse.${agency}.referral-accepted.hub`);
    }
    const first = decodeEnvelope((await nats.jsm.streams.getMessage(stream, { seq: 1 }))!.data);
    expect(events.ReferralReceived.decode(first.payload)).toMatchObject({ referralId: 'r-0', caseRef: 'c-0' });

    // Crash between publish and marking: the rows look unpublished again; the relay sends them
    // again and the stream's duplicate window drops every copy.
    expect(await republishSince(db, new Date(Date.now() - 60_000))).toBe(24);
    const again = new OutboxRelay({ db, js: nats.js, logger, producerAgencyId: agency });
    expect(await again.flush()).toBe(24);
    expect(await again.backlog()).toBe(0);
    expect((await nats.jsm.streams.info(stream)).state.messages).toBe(24);
    // Published rows stay: the producer keeps its events.
    expect(await count(db, 'outbox', sql`event_id like ${ids[0]!.slice(0, 8) + '%'}`)).toBeGreaterThan(0);
  });

  it('publishes a batch all at once, but nothing overtakes a row the broker refused', async () => {
    const agency = randomAgencyId();
    suite.agencies.push(agency);
    const { db, nats } = suite;
    const stream = streamName(agency);
    await ensureAgencyStream(nats.jsm, agency);
    // The broker refuses messages over 512 bytes; the fourth of eight events is larger.
    await nats.jsm.streams.update(stream, { max_msg_size: 512 });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      ids.push(
        await db.transaction().execute((trx) =>
          enqueueEvent(trx, { producerAgencyId: agency, eventType: 'ReferralAccepted', caseRef: `c-${i}`, payload: new Uint8Array(i === 3 ? 2048 : 16).fill(i) }),
        ),
      );
    }
    const relay = new OutboxRelay({ db, js: nats.js, logger, producerAgencyId: agency, batch: 8 });
    await expect(relay.flush()).rejects.toThrow(/a publish failed/);
    // The three before it are in the stream, in order; none of the four after it got in.
    expect((await nats.jsm.streams.info(stream)).state.messages).toBe(3);
    for (let seq = 1; seq <= 3; seq++) expect(decodeEnvelope((await nats.jsm.streams.getMessage(stream, { seq }))!.data).eventId).toBe(ids[seq - 1]);
    expect(await relay.backlog()).toBe(5);
    // Only the refused row counts a failed attempt; the ones behind it were never tried alone.
    const attempts = await db.selectFrom('outbox').select(['event_id', 'attempts']).where('event_id', 'in', ids.slice(3)).execute();
    expect(Object.fromEntries(attempts.map((r) => [r.event_id, r.attempts]))).toEqual(Object.fromEntries(ids.slice(3).map((id, i) => [id, i === 0 ? 1 : 0])));

    // Once the broker takes it, the rest follows in outbox order.
    await nats.jsm.streams.update(stream, { max_msg_size: -1 });
    expect(await relay.flush()).toBe(5);
    expect((await nats.jsm.streams.info(stream)).state.messages).toBe(8);
    for (let seq = 1; seq <= 8; seq++) expect(decodeEnvelope((await nats.jsm.streams.getMessage(stream, { seq }))!.data).eventId).toBe(ids[seq - 1]);
  });

  it('keeps a row whose publish failed, records the attempt, and publishes it later', async () => {
    const agency = randomAgencyId();
    suite.agencies.push(agency);
    const { db, nats } = suite;
    const eventId = await db.transaction().execute((trx) =>
      enqueueEvent(trx, { producerAgencyId: agency, eventType: 'ReferralDeclined', caseRef: 'c-1', payload: new Uint8Array() }),
    );
    // A connection that is already closed: every publish fails.
    const deadConnection = await connect({ servers: natsUrl });
    await deadConnection.close();
    const broken = new OutboxRelay({ db, js: jetstream(deadConnection), logger, producerAgencyId: agency, pollIntervalMs: 20, maxBackoffMs: 50 });
    broken.start();
    await waitFor(
      async () => (await db.selectFrom('outbox').select('attempts').where('event_id', '=', eventId).executeTakeFirstOrThrow()).attempts >= 2,
      5_000,
      'failed attempts',
    );
    await broken.stop();
    const row = await db.selectFrom('outbox').selectAll().where('event_id', '=', eventId).executeTakeFirstOrThrow();
    expect(row.published_at).toBeNull();
    expect(row.last_error).toBeTruthy();

    const relay = new OutboxRelay({ db, js: nats.js, logger, producerAgencyId: agency });
    await relay.flush();
    expect(await count(db, 'outbox', sql`event_id = ${eventId} and published_at is not null`)).toBe(1);
    expect((await nats.jsm.streams.info(streamName(agency))).state.messages).toBe(1);
  });

  it('works on the embedded single-connection database while other transactions run', async () => {
    const agency = randomAgencyId();
    suite.agencies.push(agency);
    const embedded = await openDatabase<any>({ dataDir: 'memory://' });
    try {
      await migrateToLatest(embedded.db, outboxMigrations);
      const relay = new OutboxRelay({ db: embedded.db, js: suite.nats.js, logger, producerAgencyId: agency, pollIntervalMs: 10 });
      relay.start();
      for (let i = 0; i < 10; i++) {
        await embedded.db.transaction().execute(async (trx) => {
          await enqueueEvent(trx, { producerAgencyId: agency, eventType: 'ReferralReceived', caseRef: `c-${i}`, payload: new Uint8Array([i]) });
        });
        relay.notify();
      }
      await waitFor(async () => (await relay.backlog()) === 0, 10_000, 'empty embedded outbox');
      await relay.stop();
      expect((await suite.nats.jsm.streams.info(streamName(agency))).state.messages).toBe(10);
    } finally {
      await embedded.close();
    }
  });

  it("rewrites the messages of one type in one case for their producer (an erasure), and leaves the envelope and every other row as they were", async () => {
    const agency = randomAgencyId();
    const { db } = suite;
    const routed = (referralId: string, caseRef: string) => events.ReferralRouted.fromPartial({ referralId, caseRef, providerId: 'p', ageGroup: 3 });
    const [erase, other] = [`${agency}-erase`, `${agency}-other`];
    const ids = await db.transaction().execute(async (trx) => [
      await enqueue(trx, agency, events.ReferralRouted, 'ReferralRouted', routed('r-1', erase), erase, 'p'),
      await enqueue(trx, agency, events.ReferralRouted, 'ReferralRouted', routed('r-2', erase), erase, 'p'),
      await enqueue(trx, agency, events.ReferralRouted, 'ReferralRouted', routed('r-3', other), other, 'p'),
    ]);
    const rewritten = await db.transaction().execute((trx) =>
      rewriteOutboxPayloads(trx, { caseRef: erase, eventType: 'ReferralRouted' }, (payload) => {
        const message = events.ReferralRouted.decode(payload);
        return message.referralId === 'r-1' ? events.ReferralRouted.encode({ ...message, ageGroup: 0 }).finish() : undefined;
      }),
    );
    expect(rewritten).toBe(1);
    const rows = await db.selectFrom('outbox').select(['event_id', 'payload']).where('event_id', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [r.event_id as string, envelope.Envelope.decode(r.payload as Uint8Array)]));
    expect(ids.map((id) => events.ReferralRouted.decode(byId.get(id)!.payload).ageGroup)).toEqual([0, 3, 3]);
    expect(byId.get(ids[0]!)).toMatchObject({ eventId: ids[0], eventType: 'ReferralRouted', producerAgencyId: agency, caseRef: erase });
  });
});
