// Integration tier: the foreign office reconciles its referral requests with the hub's answers,
// on the real PostgreSQL and NATS. The broker forgets a request that was already relayed (here
// its stream is purged, as a restored old store or an operator's purge would leave it; the
// stream itself stays, so nothing looks reset); the office sends it again from its outbox under
// the same event id until the hub answers, and reports what stays unanswered as stuck.
import { common, events, eventTypeOf } from '@lotse/contracts';
import { streamName } from '@lotse/messaging';
import { sleep, streamEvents, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

const { Purpose, ReferralStatus } = common;
const afterMs = 300;

let t: ForeignOfficeUnderTest;
beforeAll(async () => {
  // The test runs each pass itself (interval 0); two sends, then stuck.
  t = await startForeignOfficeFixture({ env: { REFERRAL_FOLLOW_UP_INTERVAL_MS: '0', REFERRAL_FOLLOW_UP_AFTER_MS: String(afterMs), REFERRAL_FOLLOW_UP_ATTEMPTS: '2' } });
});
afterAll(async () => {
  await t?.stop();
});

const followUp = () => t.service.referralFollowUp!;

async function requested() {
  const newcomer = await t.register();
  await t.consent(newcomer.newcomerId);
  const { referral } = await t.fo.requestReferral({ requestId: `fu-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
  return { caseRef: newcomer.caseRef, referralId: referral!.referralId };
}

/** The request events of a referral in the office's stream, as the hub would read them. */
async function inStream(referralId: string) {
  return (await streamEvents(t.nats, t.foId)).filter((e) => e.envelope.eventType === eventTypeOf(events.ReferralRequested) && events.ReferralRequested.decode(e.envelope.payload).referralId === referralId);
}

describe('referral requests the hub never answered', () => {
  it('are sent again from the outbox under the same event id once the broker lost them, until the hub answers', async () => {
    const { caseRef, referralId } = await requested();
    const [sent] = await waitFor(async () => {
      const found = await inStream(referralId);
      return found.length === 1 ? found : undefined;
    }, 'the request relayed');
    expect(await followUp().runOnce()).toBe(0); // not overdue yet

    await t.nats.jsm.streams.purge(streamName(t.foId));
    expect(await inStream(referralId)).toEqual([]);
    await sleep(afterMs + 50);
    expect(await followUp().runOnce()).toBe(1);
    const again = await waitFor(async () => {
      const found = await inStream(referralId);
      return found.length === 1 ? found : undefined;
    }, 'the request sent again');
    expect(again[0]!.envelope.eventId).toBe(sent!.envelope.eventId);

    // The hub answers (routed): confirmed, nothing is sent again.
    await t.referredTo(caseRef, t.caritasId, { referralId, status: ReferralStatus.REFERRAL_STATUS_PENDING });
    await waitFor(async () => (await t.query.db.selectFrom('referral').select('status').where('referral_id', '=', referralId).executeTakeFirstOrThrow()).status === ReferralStatus.REFERRAL_STATUS_PENDING, 'the answer applied');
    await sleep(afterMs + 50);
    expect(await followUp().runOnce()).toBe(0);
  });

  it('stops after the configured sends and reports the request as stuck, waiting on the hub', async () => {
    const before = await followUp().status();
    const { referralId } = await requested();
    await waitFor(async () => ((await inStream(referralId)).length === 1 ? true : undefined), 'the request relayed');
    for (const expected of [1, 1, 0]) {
      await sleep(afterMs + 50);
      expect(await followUp().runOnce()).toBe(expected);
    }
    const status = await followUp().status();
    expect(status.waiting).toBe(before.waiting + 1);
    expect(status.stuck).toBe(before.stuck + 1);
    expect(status.oldestRequestedAt).toBeInstanceOf(Date);
    // The outbox kept the one event: sends again are the same row, not new events.
    expect(await t.count('outbox', (await import('@lotse/db')).sql`event_type = 'ReferralRequested' and case_ref in (select case_ref from referral where referral_id = ${referralId})`)).toBe(1);
  });
});
