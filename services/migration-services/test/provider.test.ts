// Integration tier: the migration services provider takes a routed referral, accepts it, fetches
// the consented data from the real foreign office, records the first contact or declines, on the
// real PostgreSQL and NATS JetStream over gRPC with mTLS; the test plays the hub.
import { status } from '@grpc/grpc-js';
import { common, events, migrationServices as ms } from '@lotse/contracts';
import { berlinDate, fieldViolationsOf } from '@lotse/grpc';
import { grpcError, waitConsumed, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProviderFixture, today, type ProviderUnderTest } from './support/migration-services-fixture.js';

const { DataCategory, Purpose, AgeGroup, DeclineReason, ContactChannel } = common;
const { InboxStatus } = ms;

let mbe: ProviderUnderTest;
beforeAll(async () => {
  mbe = await startProviderFixture();
});
afterAll(() => mbe?.stop());

describe('migration services provider (real PostgreSQL, NATS JetStream and foreign office)', () => {
  let referralId: string;

  it('takes a routed referral into its inbox as pending and tells the hub once, even when the event comes again', async () => {
    const routed = await mbe.route(mbe.covered);
    referralId = routed.referralId;

    const listed = await waitFor(async () => {
      const { referrals } = await mbe.client.listReferrals({ status: 0, pageSize: 0, pageToken: '' });
      return referrals.find((r) => r.referralId === referralId);
    }, 'the referral in ListReferrals');
    expect(listed).toMatchObject({
      referralId,
      caseRef: mbe.covered.caseRef,
      referrerAgencyId: mbe.foId,
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      ageGroup: AgeGroup.AGE_GROUP_ADULT,
      status: InboxStatus.INBOX_STATUS_PENDING,
      dataFetched: false,
      firstContactDate: '',
    });
    const pending = await mbe.client.listReferrals({ status: InboxStatus.INBOX_STATUS_PENDING, pageSize: 0, pageToken: '' });
    expect(pending.referrals.map((r) => r.referralId)).toContain(referralId);

    const received = await mbe.waitForStreamed(events.ReferralReceived, referralId);
    expect(received).toHaveLength(1);
    expect(received[0]!.message).toEqual({ referralId, caseRef: mbe.covered.caseRef, providerId: mbe.providerId });
    expect(received[0]!.envelope).toMatchObject({ producerAgencyId: mbe.providerId, caseRef: mbe.covered.caseRef, eventType: 'ReferralReceived' });

    // Redelivered: the same event past the broker's duplicate window, and a second event of the same routing.
    await mbe.route(mbe.covered, { referralId, eventId: routed.eventId, msgId: uuidv7() });
    await mbe.route(mbe.covered, { referralId });
    await waitConsumed(mbe.nats, mbe.hubId, mbe.providerDurable());

    const all = await mbe.client.listReferrals({ status: 0, pageSize: 0, pageToken: '' });
    expect(all.referrals.filter((r) => r.referralId === referralId)).toHaveLength(1);
    expect(await mbe.outboxEvents('ReferralReceived', referralId)).toHaveLength(1);
    expect(await mbe.streamedEvents(events.ReferralReceived, referralId)).toHaveLength(1);
  });

  it('accepts a pending referral once: data before acceptance is refused, a retry returns the first result, a second acceptance is refused', async () => {
    const early = await grpcError(mbe.client.fetchNewcomerData({ requestId: 'fetch-early', referralId }));
    expect(early.code).toBe(status.FAILED_PRECONDITION);
    expect(await mbe.providerRunning.ctx.db.selectFrom('newcomer_record').selectAll().execute()).toEqual([]);

    const first = await mbe.client.acceptReferral({ requestId: 'accept-1', referralId });
    expect(first.referral).toMatchObject({ referralId, status: InboxStatus.INBOX_STATUS_ACCEPTED });
    expect(first.referral!.decidedAt).toBeInstanceOf(Date);

    const accepted = await mbe.waitForStreamed(events.ReferralAccepted, referralId);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.message).toMatchObject({ referralId, caseRef: mbe.covered.caseRef, providerId: mbe.providerId });

    const retry = await mbe.client.acceptReferral({ requestId: 'accept-1', referralId });
    expect(retry).toEqual(first);
    expect(await mbe.outboxEvents('ReferralAccepted', referralId)).toHaveLength(1);

    const again = await grpcError(mbe.client.acceptReferral({ requestId: 'accept-2', referralId }));
    expect(again.code).toBe(status.FAILED_PRECONDITION);
    expect(await mbe.outboxEvents('ReferralAccepted', referralId)).toHaveLength(1);
    expect((await mbe.inboxRow(referralId))!.status).toBe(InboxStatus.INBOX_STATUS_ACCEPTED);
  });

  it('fetches exactly the consented categories from the foreign office, keeps them, reports it, and the owner logs the disclosure', async () => {
    const { newcomer } = await mbe.client.fetchNewcomerData({ requestId: 'fetch-1', referralId });
    expect(newcomer).toEqual({
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      givenNames: 'ليلى',
      familyName: 'الخطيب',
      birthDate: '1990-04-12',
      nationality: '',
      languages: ['ar', 'en'],
      municipality: '',
      residenceStatus: '',
      legalBasis: `consent:${mbe.covered.consentId}`,
    });

    const record = await mbe.providerRunning.ctx.db.selectFrom('newcomer_record').selectAll().where('referral_id', '=', referralId).executeTakeFirstOrThrow();
    expect(record).toMatchObject({
      case_ref: mbe.covered.caseRef,
      owner_agency_id: mbe.foId,
      consent_id: mbe.covered.consentId,
      legal_basis: `consent:${mbe.covered.consentId}`,
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      given_names: 'ليلى',
      family_name: 'الخطيب',
      birth_date: '1990-04-12',
      nationality: null,
      languages: ['ar', 'en'],
      municipality: null,
      residence_status: null,
    });

    const received = await mbe.waitForStreamed(events.NewcomerDataReceived, referralId);
    expect(received).toHaveLength(1);
    expect(received[0]!.message).toEqual({
      referralId,
      caseRef: mbe.covered.caseRef,
      providerId: mbe.providerId,
      ownerAgencyId: mbe.foId,
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
    });

    const log = await mbe.foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', mbe.covered.caseRef).execute();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      caller_agency_id: mbe.providerId,
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      legal_basis: `consent:${mbe.covered.consentId}`,
      outcome: 'granted',
    });

    // A retry of the same request is answered from the first result: no second disclosure.
    const retry = await mbe.client.fetchNewcomerData({ requestId: 'fetch-1', referralId });
    expect(retry.newcomer).toEqual(newcomer);
    expect(await mbe.foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', mbe.covered.caseRef).execute()).toHaveLength(1);
    expect(await mbe.outboxEvents('NewcomerDataReceived', referralId)).toHaveLength(1);

    const { referral } = await mbe.client.getReferral({ referralId });
    expect(referral?.dataFetched).toBe(true);
  });

  it('refuses a first contact in the future or without a channel, naming the field, and records a valid one', async () => {
    const tomorrow = berlinDate(new Date(Date.now() + 86_400_000));
    const future = await grpcError(
      mbe.client.recordFirstContact({ requestId: 'contact-future', referralId, contactDate: tomorrow, channel: ContactChannel.CONTACT_CHANNEL_IN_PERSON, interpreterUsed: false }),
    );
    expect(future.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(future).map((v) => v.field)).toEqual(['contact_date']);

    const noChannel = await grpcError(mbe.client.recordFirstContact({ requestId: 'contact-no-channel', referralId, contactDate: today(), channel: 0, interpreterUsed: false }));
    expect(noChannel.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(noChannel).map((v) => v.field)).toEqual(['channel']);

    const unchanged = (await mbe.inboxRow(referralId))!;
    expect(unchanged.first_contact_date).toBeNull();
    expect(unchanged.contact_channel).toBe(0);
    expect(await mbe.outboxEvents('FirstContactRecorded', referralId)).toEqual([]);

    const { referral } = await mbe.client.recordFirstContact({
      requestId: 'contact-1',
      referralId,
      contactDate: today(),
      channel: ContactChannel.CONTACT_CHANNEL_VIDEO,
      interpreterUsed: true,
    });
    expect(referral).toMatchObject({ referralId, firstContactDate: today(), status: InboxStatus.INBOX_STATUS_ACCEPTED, dataFetched: true });

    const recorded = await mbe.waitForStreamed(events.FirstContactRecorded, referralId);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.message).toEqual({ referralId, caseRef: mbe.covered.caseRef, providerId: mbe.providerId, contactDate: today(), channel: ContactChannel.CONTACT_CHANNEL_VIDEO });
    expect((await mbe.inboxRow(referralId))!).toMatchObject({ first_contact_date: today(), contact_channel: ContactChannel.CONTACT_CHANNEL_VIDEO, interpreter_used: true });
  });

  it('declines a pending referral only with a coded reason', async () => {
    const { referralId: other } = await mbe.routeAndWait(mbe.covered);

    const noReason = await grpcError(mbe.client.declineReferral({ requestId: 'decline-0', referralId: other, reason: DeclineReason.DECLINE_REASON_UNSPECIFIED }));
    expect(noReason.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(noReason).map((v) => v.field)).toEqual(['reason']);
    expect((await mbe.inboxRow(other))!.status).toBe(InboxStatus.INBOX_STATUS_PENDING);
    expect(await mbe.outboxEvents('ReferralDeclined', other)).toEqual([]);

    const { referral } = await mbe.client.declineReferral({ requestId: 'decline-1', referralId: other, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
    expect(referral).toMatchObject({ referralId: other, status: InboxStatus.INBOX_STATUS_DECLINED, declineReason: DeclineReason.DECLINE_REASON_NO_CAPACITY });

    const declined = await mbe.waitForStreamed(events.ReferralDeclined, other);
    expect(declined).toHaveLength(1);
    expect(declined[0]!.message).toMatchObject({ referralId: other, caseRef: mbe.covered.caseRef, providerId: mbe.providerId, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY });

    // A declined referral cannot be accepted afterwards, nor its data fetched.
    expect((await grpcError(mbe.client.acceptReferral({ requestId: 'accept-declined', referralId: other }))).code).toBe(status.FAILED_PRECONDITION);
    expect((await grpcError(mbe.client.fetchNewcomerData({ requestId: 'fetch-declined', referralId: other }))).code).toBe(status.FAILED_PRECONDITION);
  });

  it('gets PERMISSION_DENIED from the owner when the consent does not cover this provider, and stores nothing', async () => {
    const { referralId: uncovered } = await mbe.routeAndWait(mbe.notCovered);
    await mbe.client.acceptReferral({ requestId: 'accept-uncovered', referralId: uncovered });

    const denied = await grpcError(mbe.client.fetchNewcomerData({ requestId: 'fetch-uncovered', referralId: uncovered }));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(await mbe.providerRunning.ctx.db.selectFrom('newcomer_record').selectAll().where('referral_id', '=', uncovered).execute()).toEqual([]);
    expect(await mbe.outboxEvents('NewcomerDataReceived', uncovered)).toEqual([]);

    const log = await mbe.foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', mbe.notCovered.caseRef).execute();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ caller_agency_id: mbe.providerId, outcome: 'denied', legal_basis: null });
  });

  it("refuses every call made with another agency's certificate", async () => {
    const calls = [
      mbe.clientWithFoCert.listReferrals({ status: 0, pageSize: 0, pageToken: '' }),
      mbe.clientWithFoCert.getReferral({ referralId }),
      mbe.clientWithFoCert.acceptReferral({ requestId: 'fo-accept', referralId }),
      mbe.clientWithFoCert.declineReferral({ requestId: 'fo-decline', referralId, reason: DeclineReason.DECLINE_REASON_OTHER }),
      mbe.clientWithFoCert.fetchNewcomerData({ requestId: 'fo-fetch', referralId }),
      mbe.clientWithFoCert.recordFirstContact({ requestId: 'fo-contact', referralId, contactDate: today(), channel: ContactChannel.CONTACT_CHANNEL_PHONE, interpreterUsed: false }),
    ];
    for (const call of calls) {
      const error = await grpcError(call);
      expect(error.code).toBe(status.PERMISSION_DENIED);
      expect(error.details).toMatch(/authorisation matrix lets only .+ itself call/);
    }
    // Nothing was disclosed again to anyone.
    expect(await mbe.foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', mbe.covered.caseRef).execute()).toHaveLength(1);
  });
});
