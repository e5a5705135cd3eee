// Integration tier: the foreign office follows the hub's word on its referrals (ReferralStatusChanged
// from the hub's stream): applied once, never moved back, a malformed message parked. The test
// plays the hub and publishes into its stream; the office runs on the real PostgreSQL and NATS.
import { common, envelope, events, foreignOffice } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { durableNameFor, ensureAgencyStream, eventSubject, streamName } from '@lotse/messaging';
import { waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentRequest, startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

const { Purpose, ReferralStatus } = common;

let t: ForeignOfficeUnderTest;
beforeAll(async () => {
  t = await startForeignOfficeFixture();
});
afterAll(() => t?.stop());

/** A newcomer with a consent for migration counselling and a requested referral. */
async function referredNewcomer() {
  const newcomer = await t.register();
  const consent = (await t.fo.recordConsent(consentRequest(newcomer.newcomerId))).consent!;
  const referral = (
    await t.fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' })
  ).referral!;
  return { newcomer, consent, referral };
}

function statusChangedEnvelope(referral: foreignOffice.Referral, change: Partial<events.ReferralStatusChanged>, eventId = uuidv7()) {
  const payload = events.ReferralStatusChanged.encode(
    events.ReferralStatusChanged.fromPartial({ referralId: referral.referralId, caseRef: referral.caseRef, changedAt: new Date(), ...change }),
  ).finish();
  const bytes = envelope.Envelope.encode({
    eventId,
    eventType: 'ReferralStatusChanged',
    occurredAt: new Date(),
    producerAgencyId: t.hubId,
    caseRef: referral.caseRef,
    schemaVersion: 1,
    payload: Buffer.from(payload),
  }).finish();
  return { eventId, bytes };
}

const statusSubject = () => eventSubject(t.hubId, 'ReferralStatusChanged', t.foId);

/** Publishes into the hub's stream as the hub would; returns the stream sequence. */
async function publishFromHub(bytes: Uint8Array, msgID: string): Promise<number> {
  await ensureAgencyStream(t.nats.jsm, t.hubId);
  const ack = await t.nats.js.publish(statusSubject(), bytes, { msgID });
  return ack.seq;
}

/** The foreign office's consumer has handled (acked or terminated) everything up to `seq`. */
async function consumerCaughtUp(seq: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      const info = await t.nats.jsm.consumers.info(streamName(t.hubId), durableNameFor(t.foId, statusSubject()));
      return info.ack_floor.stream_seq >= seq && info.num_ack_pending === 0 && info.num_pending === 0;
    },
    `consumer to handle stream sequence ${seq}`,
    timeoutMs,
  );
}

describe('foreign office (integration: PostgreSQL, NATS, gRPC over mTLS)', () => {
  describe('status updates from the hub', () => {
    it('applies ACCEPTED once, ignores a redelivered copy and a stale PENDING', async () => {
      await ensureAgencyStream(t.nats.jsm, t.hubId);
      const { newcomer, referral } = await referredNewcomer();

      const accepted = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, providerId: t.caritasId });
      await publishFromHub(accepted.bytes, accepted.eventId);
      await waitFor(async () => {
        const { referrals } = await t.fo.listReferrals({ newcomerId: newcomer.newcomerId, status: 0, pageSize: 0, pageToken: '' });
        return referrals[0]?.status === ReferralStatus.REFERRAL_STATUS_ACCEPTED;
      }, 'the referral to be ACCEPTED');
      const afterAccept = await t.referralRow(referral.referralId);
      expect(afterAccept.provider_id).toBe(t.caritasId);

      // The same event again under another Nats-Msg-Id gets past the broker; applied_event drops it.
      const seq = await publishFromHub(accepted.bytes, `${accepted.eventId}-again`);
      await consumerCaughtUp(seq);
      expect(await t.count('applied_event', sql`event_id = ${accepted.eventId}`)).toBe(1);
      expect(await t.referralRow(referral.referralId)).toEqual(afterAccept);

      // A late PENDING (overtaken by the acceptance) never moves the referral back.
      const stale = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: 'someone-else' });
      await consumerCaughtUp(await publishFromHub(stale.bytes, stale.eventId));
      expect(await t.count('applied_event', sql`event_id = ${stale.eventId}`)).toBe(1);
      expect(await t.referralRow(referral.referralId)).toEqual(afterAccept);
      const { referrals } = await t.fo.listReferrals({ newcomerId: newcomer.newcomerId, status: 0, pageSize: 0, pageToken: '' });
      expect(referrals.map((r) => r.status)).toEqual([ReferralStatus.REFERRAL_STATUS_ACCEPTED]);
    });

    it('follows a re-route: a pending referral the hub routed to another provider after a decline names the new provider', async () => {
      await ensureAgencyStream(t.nats.jsm, t.hubId);
      const { referral } = await referredNewcomer();
      const first = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: t.caritasId });
      await consumerCaughtUp(await publishFromHub(first.bytes, first.eventId));
      expect((await t.referralRow(referral.referralId)).provider_id).toBe(t.caritasId);
      const rerouted = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: 'awo-rheinland' });
      await consumerCaughtUp(await publishFromHub(rerouted.bytes, rerouted.eventId));
      expect(await t.referralRow(referral.referralId)).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_PENDING, provider_id: 'awo-rheinland' });
    });

    it('parks a malformed message after bounded retries and still applies the next update', async () => {
      await ensureAgencyStream(t.nats.jsm, t.hubId);
      const { referral } = await referredNewcomer();
      const garbage = Buffer.from('this is not a protobuf envelope \xff\xfe', 'latin1');
      await publishFromHub(garbage, `garbage-${uuidv7()}`);
      const pending = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: t.caritasId });
      await publishFromHub(pending.bytes, pending.eventId);

      // A nak'd message does not block the ones behind it: the valid update goes through at once.
      await waitFor(async () => (await t.referralRow(referral.referralId)).status === ReferralStatus.REFERRAL_STATUS_PENDING, 'the valid update behind the bad one');
      // Default retry delays 200 + 1000 + 3000 + 5000 ms before the fifth delivery parks it.
      const parked = await waitFor(async () => {
        const rows = await t.db.selectFrom('parked_message').selectAll().where('subject', '=', statusSubject()).execute();
        return rows.length > 0 && rows;
      }, 'the malformed message to be parked', 20_000);
      expect(parked).toHaveLength(1);
      expect(parked[0]).toMatchObject({ consumer: t.foId, stream: streamName(t.hubId), event_id: null, deliveries: 5, replayed_at: null, discarded_at: null });
      expect(Buffer.from(parked[0]!.data).equals(garbage)).toBe(true);
      expect(parked[0]!.error).toMatch(/malformed event/);
      expect((await t.referralRow(referral.referralId)).provider_id).toBe(t.caritasId);

      // Once it is parked (terminated at the broker), updates keep flowing.
      const accepted = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, providerId: t.caritasId });
      await consumerCaughtUp(await publishFromHub(accepted.bytes, accepted.eventId));
      expect((await t.referralRow(referral.referralId)).status).toBe(ReferralStatus.REFERRAL_STATUS_ACCEPTED);
      expect(await t.count('parked_message')).toBe(1);
    }, 30_000);
  });
});
