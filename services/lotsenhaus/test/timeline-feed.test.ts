// WatchTimeline's feed against the real PostgreSQL, where transactions run side by side: a step
// whose transaction draws its sequence number early but commits late must still reach watchers,
// in order, and a hole that no transaction will fill must not hold the rest back.
import { migrateToLatest, openDatabase, type Database, type TestDatabase } from '@lotse/db';
import type { lotsenhaus } from '@lotse/contracts';
import { createLogger } from '@lotse/logger';
import { createTestDatabase, dropWhenIdle, randomId, sleep, waitFor } from '@lotse/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFeedOptions, TimelineFeed } from '../src/api/timeline-feed.js';
import { hubMigrations } from '../src/db/migrations/index.js';
import type { HubDb } from '../src/db/schema.js';

let database: TestDatabase;
let hub: Database<HubDb>;

beforeAll(async () => {
  database = await createTestDatabase('lotse_feed_test');
  hub = await openDatabase<HubDb>({ url: database.url, dataDir: 'unused' });
  await migrateToLatest(hub.db, hubMigrations);
});

afterAll(async () => {
  await hub?.close();
  if (database) await dropWhenIdle(database);
});

const step = (caseRef: string, eventType: string, eventId = randomId('evt')) => ({
  event_id: eventId,
  case_ref: caseRef,
  referral_id: 'R-1',
  event_type: eventType,
  agency_id: 'test',
  occurred_at: new Date(),
  trace_id: '',
  summary: eventType,
});

/** Follows the feed from now on; collects what it sends. */
async function watch(feed: TimelineFeed) {
  const got: lotsenhaus.WatchTimelineResponse[] = [];
  const stop = new AbortController();
  const done = feed.follow({ afterPosition: 0 }, stop.signal, async (m) => void got.push(m));
  // follow() reads the head before it listens; give it that moment.
  await sleep(200);
  return {
    got,
    types: (caseRef: string) => got.filter((m) => m.caseRef === caseRef).map((m) => m.entry!.eventType),
    close: async () => {
      stop.abort();
      await done;
    },
  };
}

/** A transaction on a connection of its own, open while others commit. */
const openTransaction = () => hub.db.startTransaction().execute();

describe('the timeline feed behind WatchTimeline', () => {
  it('delivers a step whose transaction commits well after a later step, before that later step', async () => {
    const feed = new TimelineFeed(hub.db, createLogger('feed-test', { level: 'silent' }), { ...defaultFeedOptions, pollMs: 20 });
    const w = await watch(feed);
    const caseRef = randomId('C');
    // The request draws its number first and takes its time to commit (a busy consumer batch)…
    const slow = await openTransaction();
    await slow.insertInto('timeline_entry').values(step(caseRef, 'ReferralRequested')).execute();
    // … while a later step commits at once.
    await hub.db.insertInto('timeline_entry').values(step(caseRef, 'ReferralReceived')).execute();
    // Longer than any fixed wait for a hole would reasonably be.
    await sleep(2500);
    const early = w.types(caseRef);
    await slow.commit().execute();
    expect(early).toEqual([]);
    await waitFor(() => (w.types(caseRef).length >= 2 ? true : undefined), 'both steps delivered');
    expect(w.types(caseRef)).toEqual(['ReferralRequested', 'ReferralReceived']);
    const positions = w.got.filter((m) => m.caseRef === caseRef).map((m) => m.position);
    expect(positions[1]).toBeGreaterThan(positions[0]!);
    await w.close();
  });

  it('passes over a hole left by a rolled-back step or a duplicate insert as soon as nothing can fill it', async () => {
    const feed = new TimelineFeed(hub.db, createLogger('feed-test', { level: 'silent' }), { ...defaultFeedOptions, pollMs: 20 });
    const w = await watch(feed);
    const caseRef = randomId('C');
    const rolledBack = await openTransaction();
    await rolledBack.insertInto('timeline_entry').values(step(caseRef, 'NeverCommitted')).execute();
    const first = step(caseRef, 'ReferralRequested');
    await hub.db.insertInto('timeline_entry').values(first).execute();
    await sleep(300);
    const early = w.types(caseRef);
    await rolledBack.rollback().execute();
    // Held back while the transaction that drew the missing number still ran.
    expect(early).toEqual([]);
    await waitFor(() => (w.types(caseRef).length >= 1 ? true : undefined), 'the step after the rolled-back one', 3000);
    // A redelivered event draws a number and inserts nothing: that hole is final at once.
    await hub.db.insertInto('timeline_entry').values(first).onConflict((oc) => oc.column('event_id').doNothing()).execute();
    await hub.db.insertInto('timeline_entry').values(step(caseRef, 'ReferralRouted')).execute();
    await waitFor(() => (w.types(caseRef).length >= 2 ? true : undefined), 'the step after the duplicate', 3000);
    expect(w.types(caseRef)).toEqual(['ReferralRequested', 'ReferralRouted']);
    await w.close();
  });

  it('a watcher that starts while a step is still uncommitted below the newest gets it once it commits', async () => {
    const caseRef = randomId('C');
    const slow = await openTransaction();
    await slow.insertInto('timeline_entry').values(step(caseRef, 'ReferralRequested')).execute();
    await hub.db.insertInto('timeline_entry').values(step(caseRef, 'ReferralRouted')).execute();
    // A fresh feed: its start is decided now, with the request's transaction still open.
    const feed = new TimelineFeed(hub.db, createLogger('feed-test', { level: 'silent' }), { ...defaultFeedOptions, pollMs: 20 });
    const w = await watch(feed);
    await slow.commit().execute();
    await waitFor(() => (w.types(caseRef).includes('ReferralRequested') ? true : undefined), 'the request delivered', 5000);
    expect(w.types(caseRef)).toEqual(['ReferralRequested', 'ReferralRouted']);
    await w.close();
  });
});
