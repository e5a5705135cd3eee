// Integration tier: the hub sends a routing again that no recipient confirmed, until the
// provider reports receipt; after the configured sends it counts as stuck. The test purges the
// hub's stream, as a broker that forgot would leave it; real PostgreSQL and NATS JetStream.
import { events, eventTypeOf } from '@lotse/contracts';
import { streamName } from '@lotse/messaging';
import { sleep, streamEvents, waitFor } from '@lotse/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followUpAfterMs, startHubFixture, type HubUnderTest } from './support/hub-fixture.js';

let hub: HubUnderTest;
beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(() => hub?.stop());

describe('routings no recipient confirmed', () => {
  const routedIds = async (referralId: string) =>
    (await streamEvents(hub.nats, hub.hubId)).filter((e) => e.envelope.eventType === eventTypeOf(events.ReferralRouted) && events.ReferralRouted.decode(e.envelope.payload).referralId === referralId).map((e) => e.envelope.eventId);
  const followUpRow = (referralId: string) => hub.running.ctx.db.selectFrom('routing_follow_up').selectAll().where('referral_id', '=', referralId).executeTakeFirst();

  it('are sent again under their event id until the recipient reports receipt; after the configured sends they count as stuck, waiting on it', async () => {
    const lost = await hub.requestReferral();
    const stuck = await hub.requestReferral();
    const t = await hub.waitForTimeline(lost.caseRef, 2);
    await hub.waitForTimeline(stuck.caseRef, 2);
    const routedEventId = t.entries.find((e) => e.eventType === 'ReferralRouted')!.eventId;
    await waitFor(async () => ((await routedIds(lost.referralId)).length === 1 ? true : undefined), 'the routing relayed');

    await hub.nats.jsm.streams.purge(streamName(hub.hubId));
    expect(await routedIds(lost.referralId)).toEqual([]);
    await sleep(followUpAfterMs + 50);
    expect(await hub.service.routingFollowUp!.runOnce()).toBeGreaterThanOrEqual(2);
    await waitFor(async () => ((await routedIds(lost.referralId)).length === 1 ? true : undefined), 'the routing sent again');
    expect(await routedIds(lost.referralId)).toEqual([routedEventId]);
    expect(await followUpRow(lost.referralId)).toMatchObject({ routed_event_id: routedEventId, resent_count: 1 });

    // The provider reports it received: confirmed, not sent again.
    await hub.providerEvent(hub.adultProviderId, 'ReferralReceived', { referralId: lost.referralId, caseRef: lost.caseRef, providerId: hub.adultProviderId }, lost.caseRef);
    await hub.waitForTimeline(lost.caseRef, 3, 'the receipt');
    await sleep(followUpAfterMs + 50);
    await hub.service.routingFollowUp!.runOnce();
    expect((await followUpRow(lost.referralId))!.resent_count).toBe(1);

    // Nobody answers the other: sent again on both passes, then stuck, waiting on the provider.
    expect((await followUpRow(stuck.referralId))!.resent_count).toBe(2);
    await sleep(followUpAfterMs + 50);
    await hub.service.routingFollowUp!.runOnce();
    expect((await followUpRow(stuck.referralId))!.resent_count).toBe(2);
    const awaiting = await hub.service.routingFollowUp!.awaiting();
    const atProvider = awaiting.find((a) => a.waitsOn === hub.adultProviderId)!;
    expect(atProvider).toMatchObject({ eventType: 'ReferralRouted' });
    expect(atProvider.stuck).toBeGreaterThanOrEqual(1);
    expect(atProvider.waiting).toBeGreaterThanOrEqual(atProvider.stuck);
  });
});
