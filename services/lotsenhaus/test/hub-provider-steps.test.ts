// Integration tier: the hub follows the provider a referral was routed to (received, accepted,
// first contact), drops what comes twice or from another provider, and parks a malformed message;
// on the real PostgreSQL and NATS JetStream. The test plays the referrer and the providers.
import { common, events } from '@lotse/contracts';
import { berlinDate } from '@lotse/grpc';
import { ensureAgencyStream, eventSubject, streamName } from '@lotse/messaging';
import { publishEvent, sleep, waitConsumed, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubFixture, type HubUnderTest } from './support/hub-fixture.js';

const { ReferralStatus, ContactChannel } = common;

let hub: HubUnderTest;
beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(() => hub?.stop());

describe('lotsenhaus hub (real PostgreSQL and NATS JetStream)', () => {
  it('follows the provider: received, accepted, first contact; drops a redelivered event and ignores a provider the referral was not routed to', async () => {
    const { caseRef, referralId } = await hub.requestReferral();
    await hub.waitForTimeline(caseRef, 2);

    await hub.providerEvent(hub.adultProviderId, 'ReferralReceived', { referralId, caseRef, providerId: hub.adultProviderId }, caseRef);
    let t = await hub.waitForTimeline(caseRef, 3);
    expect(t.entries[2]!.eventType).toBe('ReferralReceived');
    expect(t.caseSummary?.status).toBe(ReferralStatus.REFERRAL_STATUS_PENDING);

    // The youth provider claims the adult provider's referral: no effect on the case.
    const foreignEventId = await hub.providerEvent(
      hub.youthProviderId,
      'ReferralAccepted',
      { referralId, caseRef, providerId: hub.youthProviderId, acceptedAt: new Date() },
      caseRef,
    );
    // … nor may it put its own steps on the case's timeline.
    const foreignDataEventId = await publishEvent(hub.nats, {
      producer: hub.youthProviderId,
      codec: events.NewcomerDataReceived,
      message: events.NewcomerDataReceived.fromPartial({
        referralId,
        caseRef,
        providerId: hub.youthProviderId,
        ownerAgencyId: hub.referrerId,
        categories: [common.DataCategory.DATA_CATEGORY_IDENTITY],
      }),
      caseRef,
    });
    for (const id of [foreignEventId, foreignDataEventId]) {
      await waitFor(
        async () => (await hub.running.ctx.db.selectFrom('applied_event' as any).select('event_id').where('event_id', '=', id).executeTakeFirst()) !== undefined,
        'the hub to consume the foreign provider event',
      );
    }
    t = (await hub.timeline(caseRef))!;
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived']);
    expect(t.entries.some((e) => e.agencyId === hub.youthProviderId)).toBe(false);
    expect(t.caseSummary).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_PENDING, currentAgencyId: hub.adultProviderId });

    const acceptedEventId = await hub.providerEvent(
      hub.adultProviderId,
      'ReferralAccepted',
      { referralId, caseRef, providerId: hub.adultProviderId, acceptedAt: new Date() },
      caseRef,
    );
    t = await hub.waitForTimeline(caseRef, 4);
    expect(t.caseSummary).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, currentAgencyId: hub.adultProviderId });
    const accepted = await hub.client.listCases({ status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, agencyId: '', pageSize: 0, pageToken: '', municipality: '', waitingLongerThanWorkingDays: 0, escalatedOnly: false });
    expect(accepted.cases.map((c) => c.caseRef)).toContain(caseRef);

    // The same event again (a relay that re-published after the broker's duplicate window).
    await hub.providerEvent(
      hub.adultProviderId,
      'ReferralAccepted',
      { referralId, caseRef, providerId: hub.adultProviderId, acceptedAt: new Date() },
      caseRef,
      { eventId: acceptedEventId, msgId: uuidv7() },
    );
    await waitConsumed(hub.nats, hub.adultProviderId, hub.hubDurable(hub.adultProviderId));
    t = (await hub.timeline(caseRef))!;
    expect(t.entries.filter((e) => e.eventId === acceptedEventId)).toHaveLength(1);
    expect(t.entries).toHaveLength(4);

    await hub.providerEvent(
      hub.adultProviderId,
      'FirstContactRecorded',
      { referralId, caseRef, providerId: hub.adultProviderId, contactDate: berlinDate(new Date()), channel: ContactChannel.CONTACT_CHANNEL_IN_PERSON },
      caseRef,
    );
    t = await hub.waitForTimeline(caseRef, 5);
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', 'FirstContactRecorded']);
    expect(t.entries.slice(2).every((e) => e.agencyId === hub.adultProviderId)).toBe(true);
    expect(t.caseSummary?.status).toBe(ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED);

    const started = await hub.client.listCases({ status: ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED, agencyId: '', pageSize: 0, pageToken: '', municipality: '', waitingLongerThanWorkingDays: 0, escalatedOnly: false });
    expect(started.cases.map((c) => c.caseRef)).toEqual([caseRef]);
    const stillAccepted = await hub.client.listCases({ status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, agencyId: '', pageSize: 0, pageToken: '', municipality: '', waitingLongerThanWorkingDays: 0, escalatedOnly: false });
    expect(stillAccepted.cases.map((c) => c.caseRef)).not.toContain(caseRef);

    // The referrer hears each step once: PENDING, ACCEPTED, COUNSELLING_STARTED.
    const changes = await waitFor(async () => {
      const c = await hub.statusChanges(referralId);
      return c.length >= 3 ? c : undefined;
    }, 'three status changes');
    expect(changes.map((c) => c.status)).toEqual([
      ReferralStatus.REFERRAL_STATUS_PENDING,
      ReferralStatus.REFERRAL_STATUS_ACCEPTED,
      ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED,
    ]);
    expect(changes.every((c) => c.providerId === hub.adultProviderId)).toBe(true);
  });

  it('parks a malformed message on a provider stream after bounded retries and goes on with the next event', async () => {
    const { caseRef, referralId } = await hub.requestReferral();
    await hub.waitForTimeline(caseRef, 2);

    const malformedSubject = eventSubject(hub.adultProviderId, 'ReferralAccepted');
    await ensureAgencyStream(hub.nats.jsm, hub.adultProviderId);
    await hub.nats.js.publish(malformedSubject, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), { msgID: uuidv7() });
    await hub.providerEvent(hub.adultProviderId, 'ReferralAccepted', { referralId, caseRef, providerId: hub.adultProviderId, acceptedAt: new Date() }, caseRef);

    const t = await hub.waitForTimeline(caseRef, 3, 'the valid event after the malformed one');
    expect(t.caseSummary?.status).toBe(ReferralStatus.REFERRAL_STATUS_ACCEPTED);

    // Default retry delays 200 ms, 1 s, 3 s, 5 s: parked on the 5th delivery, about 9 s later.
    const parked = await waitFor(
      async () => {
        const rows = (await hub.running.ctx.db.selectFrom('parked_message' as any).selectAll().execute()) as any[];
        return rows.length ? rows : undefined;
      },
      'the malformed message to be parked',
      20_000,
    );
    expect(parked).toHaveLength(1);
    expect(parked![0]).toMatchObject({
      consumer: hub.hubId,
      stream: streamName(hub.adultProviderId),
      subject: malformedSubject,
      event_id: null,
      deliveries: 5,
      replayed_at: null,
      discarded_at: null,
    });
    expect(parked![0].error).toMatch(/malformed event/);

    // Terminated, not redelivered: nothing is left for the hub's durable on that stream.
    await waitConsumed(hub.nats, hub.adultProviderId, hub.hubDurable(hub.adultProviderId));
    await sleep(300);
    expect(await hub.running.ctx.db.selectFrom('parked_message' as any).selectAll().execute()).toHaveLength(1);

    // And the consumer still works afterwards.
    await hub.providerEvent(
      hub.adultProviderId,
      'FirstContactRecorded',
      { referralId, caseRef, providerId: hub.adultProviderId, contactDate: berlinDate(new Date()), channel: ContactChannel.CONTACT_CHANNEL_PHONE },
      caseRef,
    );
    const after = await waitFor(async () => {
      const t = await hub.timeline(caseRef);
      return t?.entries.some((e) => e.eventType === 'FirstContactRecorded') ? t : undefined;
    }, 'the first contact after the parked message');
    expect(after.caseSummary?.status).toBe(ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED);
  }, 40_000);
});
