// Integration tier: a deployment's relay is woken only by transactions that wrote to the outbox
// (outboxWriteCount), on the real PostgreSQL and NATS. The relay's fallback poll is set to ten
// minutes here, so every event below can only leave within the bound because a commit woke the
// relay: through ctx.transact, through a consumer's handler (also when a second subscription takes
// the same event), and for events marked to be sent again.
import { events } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { createLogger } from '@lotse/logger';
import { agencySubjects, eventSubject, republishEvents } from '@lotse/messaging';
import { publishEvent, randomId, sleep, startTestNetwork, waitFor, type TestAgency, type TestNetwork } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { on, subscribe, type AgencyContext } from '../src/index.js';
import { startableAgency, type StartableAgency } from './fixtures/startable-agency.js';

const hubId = randomId('hub');
const producer = randomId('mbe');
const tenMinutes = 600_000;
/** Generous, for a loaded machine; far below the fallback poll. */
const boundMs = 30_000;

let net: TestNetwork;
let routedWritten: () => void = () => undefined;
const routed = new Promise<void>((resolve) => (routedWritten = resolve));
let hub: TestAgency<StartableAgency>;

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'relay-wake',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: producer, agencyType: 'migration-services' },
    ],
  });
  // The hub answers a provider's acceptance with a routed event, as its workflow does. A second
  // subscription of the hub takes the same event and writes nothing; it commits while the first
  // one's transaction, which has written its event, is still open.
  const routing = (ctx: AgencyContext<any>) =>
    subscribe(producer, agencySubjects(producer), [
      on(events.ReferralAccepted, async (trx, message) => {
        if (message.referralId.startsWith('quiet')) return;
        await ctx.publish(trx, events.ReferralRouted, events.ReferralRouted.fromPartial({ referralId: message.referralId, caseRef: message.caseRef }), message.caseRef, producer);
        routedWritten();
        await sleep(500);
      }),
    ]);
  const watching = subscribe(
    producer,
    eventSubject(producer, 'ReferralAccepted'),
    [
      on(events.ReferralAccepted, async (_trx, message) => {
        if (!message.referralId.startsWith('quiet')) await Promise.race([routed, sleep(10_000)]);
      }),
    ],
    { module: 'watcher' },
  );
  hub = await net.agency({
    id: hubId,
    database: 'lotse_relay_wake_test',
    create: startableAgency(
      { migrations: {}, services: () => [], subscriptions: (ctx) => [routing(ctx), watching] },
      { logger: createLogger(hubId, { level: 'silent' }), relayPollIntervalMs: tenMinutes },
    ),
  });
});

afterAll(() => net?.close());

const ctx = () => hub.running.ctx;
const unpublished = async (where: 'all' | string[]) =>
  (
    await sql<{ n: number }>`select count(*)::int as n from outbox where published_at is null and (${where === 'all'} or event_id = any(${where === 'all' ? [] : where}))`.execute(ctx().db)
  ).rows[0]!.n;
const routedFor = async (caseRef: string) =>
  (await sql<{ published: boolean }>`select published_at is not null as published from outbox where event_type = 'ReferralRouted' and case_ref = ${caseRef}`.execute(ctx().db)).rows;

describe('the relay wakes after a commit that wrote to the outbox', () => {
  it('after ctx.transact that published, without waiting for its poll', async () => {
    const ids = await ctx().transact(async (trx) => [
      await ctx().publish(trx, events.ReferralRouted, events.ReferralRouted.fromPartial({ referralId: uuidv7(), caseRef: 'C-W1' }), 'C-W1', producer),
      await ctx().publish(trx, events.ReferralRouted, events.ReferralRouted.fromPartial({ referralId: uuidv7(), caseRef: 'C-W1' }), 'C-W1', producer),
    ]);
    await waitFor(async () => (await unpublished(ids)) === 0, 'both events relayed', boundMs);
  });

  it("after a consumer's handler published, also when another subscription took the same event and committed first", async () => {
    for (const [referralId, caseRef] of [[`quiet-${uuidv7()}`, 'C-W2-quiet'], [uuidv7(), 'C-W2-loud']] as const) {
      await publishEvent(net.nats, { producer, codec: events.ReferralAccepted, message: events.ReferralAccepted.fromPartial({ referralId, caseRef, providerId: producer }), caseRef });
    }
    await waitFor(async () => (await routedFor('C-W2-loud')).some((r) => r.published), "the handler's event relayed", boundMs);
    expect(await routedFor('C-W2-quiet')).toEqual([]);
    const { rows } = await sql<{ consumer: string }>`select consumer from applied_event order by consumer`.execute(ctx().db);
    expect(rows.map((r) => r.consumer)).toEqual([hubId, hubId, `${hubId}:watcher`, `${hubId}:watcher`]);
    expect(await unpublished('all')).toBe(0);
  });

  it('after events were marked to be sent again', async () => {
    const [id] = await ctx().transact(async (trx) => [
      await ctx().publish(trx, events.ReferralRouted, events.ReferralRouted.fromPartial({ referralId: uuidv7(), caseRef: 'C-W3' }), 'C-W3', producer),
    ]);
    await waitFor(async () => (await unpublished([id!])) === 0, 'the event relayed', boundMs);
    expect(await ctx().transact((trx) => republishEvents(trx, [id!]))).toBe(1);
    await waitFor(async () => (await unpublished([id!])) === 0, 'the event relayed again', boundMs);
    const { rows } = await sql<{ resends: number }>`select resends from outbox where event_id = ${id!}`.execute(ctx().db);
    expect(rows[0]!.resends).toBe(1);
  });
});
