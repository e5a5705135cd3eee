import { status } from '@grpc/grpc-js';
import { common, envelope, events, eventTypeOf, foreignOffice, migrationServices as ms } from '@lotse/contracts';
import { berlinDate, fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { durableNameFor, type NatsClients } from '@lotse/messaging';
import { subjectOf, type RunningAgency } from '@lotse/runtime';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The real foreign office, the owner of the newcomer's data (not a dependency of this package).
import { create as createForeignOffice, type ForeignOfficeDb } from '@lotse/foreign-office';
import { create, type MigrationServicesDb } from '../src/index.js';
import { announceReferralWith, grpcError, publishEvent, randomId, startTestNetwork, streamEvents, waitConsumed, waitFor, type TestNetwork } from '@lotse/testing';

const { DataCategory, Purpose, AgeGroup, DeclineReason, ContactChannel } = common;
const { InboxStatus } = ms;

const hubId = randomId('hub');
const foId = randomId('fo');
const providerId = randomId('mbe');
const logLevel = process.env.LOG_LEVEL ?? 'silent';

let net: TestNetwork;
let foRunning: RunningAgency<ForeignOfficeDb>;
let providerRunning: RunningAgency<MigrationServicesDb>;
let nats: NatsClients;
let foClient: PromiseClient<foreignOffice.ForeignOfficeServiceClient>;
let client: PromiseClient<ms.MigrationServicesServiceClient>;
let clientWithFoCert: PromiseClient<ms.MigrationServicesServiceClient>;

// Newcomers registered at the foreign office.
const covered = { caseRef: '', consentId: '' };
const notCovered = { caseRef: '', consentId: '' };

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'provider',
    members: [
      { id: foId, agencyType: 'foreign-office' },
      { id: providerId, agencyType: 'migration-services' },
    ],
    streams: [hubId],
  });
  nats = net.nats;
  const fo = await net.agency({
    id: foId,
    database: 'lotse_fo_test',
    create: (config) => createForeignOffice({ ...config, logLevel: 'silent', hubAgencyId: hubId }, { logger: createLogger(foId, { level: logLevel }) }),
  });
  foRunning = fo.running;
  const provider = await net.agency({
    id: providerId,
    database: 'lotse_mbe_test',
    create: (config) => create({ ...config, logLevel: 'silent', hubAgencyId: hubId, peers: new Map([[foId, fo.address]]) }, { logger: createLogger(providerId, { level: logLevel }) }),
  });
  providerRunning = provider.running;
  foClient = fo.client(foreignOffice.ForeignOfficeServiceClient);
  client = provider.client(ms.MigrationServicesServiceClient);
  clientWithFoCert = provider.client(ms.MigrationServicesServiceClient, foId);

  Object.assign(covered, await registerWithConsent('reg-covered', { givenNames: 'ليلى', familyName: 'الخطيب' }, ['migration-services']));
  Object.assign(notCovered, await registerWithConsent('reg-not-covered', { givenNames: 'عمر', familyName: 'حداد' }, ['job-centre'], [Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION]));
});

afterAll(() => net?.close());

// --- helpers -------------------------------------------------------------------------------------

async function registerWithConsent(
  requestId: string,
  names: { givenNames: string; familyName: string },
  recipients: string[],
  purposes: common.Purpose[] = [Purpose.PURPOSE_MIGRATION_COUNSELLING],
) {
  const { newcomer } = await foClient.registerNewcomer({
    requestId,
    ...names,
    birthDate: '1990-04-12',
    nationality: 'SY',
    languages: ['ar', 'en'],
    municipality: 'andernach',
    residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
  });
  const { consent } = await foClient.recordConsent({
    requestId: `${requestId}-consent`,
    newcomerId: newcomer!.newcomerId,
    recipients,
    purposes,
    dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
    expiresAt: undefined,
    textVersion: 'mbe-einwilligung-2026-01',
    language: 'ar',
    interpreterUsed: true,
  });
  return { caseRef: newcomer!.caseRef, consentId: consent!.consentId };
}

/** Plays the hub: a ReferralRouted addressed to this provider. */
async function route(newcomer: { caseRef: string; consentId: string }, ids: { referralId?: string; eventId?: string; msgId?: string } = {}) {
  const referralId = ids.referralId ?? uuidv7();
  const eventId = await publishEvent(nats, {
    producer: hubId,
    audience: providerId,
    codec: events.ReferralRouted,
    message: events.ReferralRouted.fromPartial({
      referralId,
      caseRef: newcomer.caseRef,
      referrerAgencyId: foId,
      providerId,
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      consentId: newcomer.consentId,
      ageGroup: AgeGroup.AGE_GROUP_ADULT,
      routingReason: 'agreement',
      routedAt: new Date(),
    }),
    caseRef: newcomer.caseRef,
    eventId: ids.eventId,
    msgId: ids.msgId,
  });
  // The owner discloses only to the agency the hub says a referral is with; these tests play
  // the hub's part in telling it (the order of routing and acceptance does not matter here).
  await announceReferralWith(nats, { hubId, ownerId: foId, caseRef: newcomer.caseRef, providerId, referralId }, foRunning.ctx.db);
  return { referralId, eventId };
}

async function inboxRow(referralId: string) {
  return providerRunning.ctx.db.selectFrom('received_referral').selectAll().where('referral_id', '=', referralId).executeTakeFirst();
}

async function routeAndWait(newcomer: { caseRef: string; consentId: string }) {
  const routed = await route(newcomer);
  await waitFor(() => inboxRow(routed.referralId), `referral ${routed.referralId} in the inbox`);
  return routed;
}

/** Events this provider produced about a referral: in its outbox (committed) and, once relayed, in its stream. */
async function outboxEvents(eventType: string, referralId: string) {
  const rows = await providerRunning.ctx.db
    .selectFrom('outbox' as any)
    .select(['event_id', 'payload'])
    .where('event_type', '=', eventType)
    .execute();
  const codec = (events as unknown as Record<string, { decode(b: Uint8Array): { referralId: string } }>)[eventType]!;
  return (rows as { event_id: string; payload: Buffer }[]).filter((r) => codec.decode(envelope.Envelope.decode(r.payload).payload).referralId === referralId);
}

async function streamedEvents<T extends { referralId: string }>(codec: { decode(b: Uint8Array): T }, referralId: string) {
  const stored = await streamEvents(nats, providerId);
  return stored
    .filter((e) => e.subject === subjectOf(providerId, codec))
    .map((e) => ({ envelope: e.envelope, message: codec.decode(e.envelope.payload) }))
    .filter((e) => e.message.referralId === referralId);
}

async function waitForStreamed<T extends { referralId: string }>(codec: { decode(b: Uint8Array): T }, referralId: string) {
  return waitFor(async () => {
    const found = await streamedEvents(codec, referralId);
    return found.length ? found : undefined;
  }, `${eventTypeOf(codec)} for ${referralId} in the provider's stream`);
}

// Dates as the services judge them: the calendar in Germany (berlinDate), not UTC's.
const today = () => berlinDate(new Date());
const providerDurable = () => durableNameFor(providerId, `lotse.${hubId}.*.${providerId}`);

// --- tests ---------------------------------------------------------------------------------------

describe('migration services provider (real PostgreSQL, NATS JetStream and foreign office)', () => {
  let referralId: string;

  it('takes a routed referral into its inbox as pending and tells the hub once, even when the event comes again', async () => {
    const routed = await route(covered);
    referralId = routed.referralId;

    const listed = await waitFor(async () => {
      const { referrals } = await client.listReferrals({ status: 0, pageSize: 0, pageToken: '' });
      return referrals.find((r) => r.referralId === referralId);
    }, 'the referral in ListReferrals');
    expect(listed).toMatchObject({
      referralId,
      caseRef: covered.caseRef,
      referrerAgencyId: foId,
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      ageGroup: AgeGroup.AGE_GROUP_ADULT,
      status: InboxStatus.INBOX_STATUS_PENDING,
      dataFetched: false,
      firstContactDate: '',
    });
    const pending = await client.listReferrals({ status: InboxStatus.INBOX_STATUS_PENDING, pageSize: 0, pageToken: '' });
    expect(pending.referrals.map((r) => r.referralId)).toContain(referralId);

    const received = await waitForStreamed(events.ReferralReceived, referralId);
    expect(received).toHaveLength(1);
    expect(received[0]!.message).toEqual({ referralId, caseRef: covered.caseRef, providerId });
    expect(received[0]!.envelope).toMatchObject({ producerAgencyId: providerId, caseRef: covered.caseRef, eventType: 'ReferralReceived' });

    // Redelivered: the same event past the broker's duplicate window, and a second event of the same routing.
    await route(covered, { referralId, eventId: routed.eventId, msgId: uuidv7() });
    await route(covered, { referralId });
    await waitConsumed(nats, hubId, providerDurable());

    const all = await client.listReferrals({ status: 0, pageSize: 0, pageToken: '' });
    expect(all.referrals.filter((r) => r.referralId === referralId)).toHaveLength(1);
    expect(await outboxEvents('ReferralReceived', referralId)).toHaveLength(1);
    expect(await streamedEvents(events.ReferralReceived, referralId)).toHaveLength(1);
  });

  it('accepts a pending referral once: data before acceptance is refused, a retry returns the first result, a second acceptance is refused', async () => {
    const early = await grpcError(client.fetchNewcomerData({ requestId: 'fetch-early', referralId }));
    expect(early.code).toBe(status.FAILED_PRECONDITION);
    expect(await providerRunning.ctx.db.selectFrom('newcomer_record').selectAll().execute()).toEqual([]);

    const first = await client.acceptReferral({ requestId: 'accept-1', referralId });
    expect(first.referral).toMatchObject({ referralId, status: InboxStatus.INBOX_STATUS_ACCEPTED });
    expect(first.referral!.decidedAt).toBeInstanceOf(Date);

    const accepted = await waitForStreamed(events.ReferralAccepted, referralId);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.message).toMatchObject({ referralId, caseRef: covered.caseRef, providerId });

    const retry = await client.acceptReferral({ requestId: 'accept-1', referralId });
    expect(retry).toEqual(first);
    expect(await outboxEvents('ReferralAccepted', referralId)).toHaveLength(1);

    const again = await grpcError(client.acceptReferral({ requestId: 'accept-2', referralId }));
    expect(again.code).toBe(status.FAILED_PRECONDITION);
    expect(await outboxEvents('ReferralAccepted', referralId)).toHaveLength(1);
    expect((await inboxRow(referralId))!.status).toBe(InboxStatus.INBOX_STATUS_ACCEPTED);
  });

  it('fetches exactly the consented categories from the foreign office, keeps them, reports it, and the owner logs the disclosure', async () => {
    const { newcomer } = await client.fetchNewcomerData({ requestId: 'fetch-1', referralId });
    expect(newcomer).toEqual({
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      givenNames: 'ليلى',
      familyName: 'الخطيب',
      birthDate: '1990-04-12',
      nationality: '',
      languages: ['ar', 'en'],
      municipality: '',
      residenceStatus: '',
      legalBasis: `consent:${covered.consentId}`,
    });

    const record = await providerRunning.ctx.db.selectFrom('newcomer_record').selectAll().where('referral_id', '=', referralId).executeTakeFirstOrThrow();
    expect(record).toMatchObject({
      case_ref: covered.caseRef,
      owner_agency_id: foId,
      consent_id: covered.consentId,
      legal_basis: `consent:${covered.consentId}`,
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      given_names: 'ليلى',
      family_name: 'الخطيب',
      birth_date: '1990-04-12',
      nationality: null,
      languages: ['ar', 'en'],
      municipality: null,
      residence_status: null,
    });

    const received = await waitForStreamed(events.NewcomerDataReceived, referralId);
    expect(received).toHaveLength(1);
    expect(received[0]!.message).toEqual({
      referralId,
      caseRef: covered.caseRef,
      providerId,
      ownerAgencyId: foId,
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
    });

    const log = await foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', covered.caseRef).execute();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      caller_agency_id: providerId,
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      legal_basis: `consent:${covered.consentId}`,
      outcome: 'granted',
    });

    // A retry of the same request is answered from the first result: no second disclosure.
    const retry = await client.fetchNewcomerData({ requestId: 'fetch-1', referralId });
    expect(retry.newcomer).toEqual(newcomer);
    expect(await foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', covered.caseRef).execute()).toHaveLength(1);
    expect(await outboxEvents('NewcomerDataReceived', referralId)).toHaveLength(1);

    const { referral } = await client.getReferral({ referralId });
    expect(referral?.dataFetched).toBe(true);
  });

  it('refuses a first contact in the future or without a channel, naming the field, and records a valid one', async () => {
    const tomorrow = berlinDate(new Date(Date.now() + 86_400_000));
    const future = await grpcError(
      client.recordFirstContact({ requestId: 'contact-future', referralId, contactDate: tomorrow, channel: ContactChannel.CONTACT_CHANNEL_IN_PERSON, interpreterUsed: false }),
    );
    expect(future.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(future).map((v) => v.field)).toEqual(['contact_date']);

    const noChannel = await grpcError(client.recordFirstContact({ requestId: 'contact-no-channel', referralId, contactDate: today(), channel: 0, interpreterUsed: false }));
    expect(noChannel.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(noChannel).map((v) => v.field)).toEqual(['channel']);

    const unchanged = (await inboxRow(referralId))!;
    expect(unchanged.first_contact_date).toBeNull();
    expect(unchanged.contact_channel).toBe(0);
    expect(await outboxEvents('FirstContactRecorded', referralId)).toEqual([]);

    const { referral } = await client.recordFirstContact({
      requestId: 'contact-1',
      referralId,
      contactDate: today(),
      channel: ContactChannel.CONTACT_CHANNEL_VIDEO,
      interpreterUsed: true,
    });
    expect(referral).toMatchObject({ referralId, firstContactDate: today(), status: InboxStatus.INBOX_STATUS_ACCEPTED, dataFetched: true });

    const recorded = await waitForStreamed(events.FirstContactRecorded, referralId);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.message).toEqual({ referralId, caseRef: covered.caseRef, providerId, contactDate: today(), channel: ContactChannel.CONTACT_CHANNEL_VIDEO });
    expect((await inboxRow(referralId))!).toMatchObject({ first_contact_date: today(), contact_channel: ContactChannel.CONTACT_CHANNEL_VIDEO, interpreter_used: true });
  });

  it('declines a pending referral only with a coded reason', async () => {
    const { referralId: other } = await routeAndWait(covered);

    const noReason = await grpcError(client.declineReferral({ requestId: 'decline-0', referralId: other, reason: DeclineReason.DECLINE_REASON_UNSPECIFIED }));
    expect(noReason.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(noReason).map((v) => v.field)).toEqual(['reason']);
    expect((await inboxRow(other))!.status).toBe(InboxStatus.INBOX_STATUS_PENDING);
    expect(await outboxEvents('ReferralDeclined', other)).toEqual([]);

    const { referral } = await client.declineReferral({ requestId: 'decline-1', referralId: other, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
    expect(referral).toMatchObject({ referralId: other, status: InboxStatus.INBOX_STATUS_DECLINED, declineReason: DeclineReason.DECLINE_REASON_NO_CAPACITY });

    const declined = await waitForStreamed(events.ReferralDeclined, other);
    expect(declined).toHaveLength(1);
    expect(declined[0]!.message).toMatchObject({ referralId: other, caseRef: covered.caseRef, providerId, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY });

    // A declined referral cannot be accepted afterwards, nor its data fetched.
    expect((await grpcError(client.acceptReferral({ requestId: 'accept-declined', referralId: other }))).code).toBe(status.FAILED_PRECONDITION);
    expect((await grpcError(client.fetchNewcomerData({ requestId: 'fetch-declined', referralId: other }))).code).toBe(status.FAILED_PRECONDITION);
  });

  it('gets PERMISSION_DENIED from the owner when the consent does not cover this provider, and stores nothing', async () => {
    const { referralId: uncovered } = await routeAndWait(notCovered);
    await client.acceptReferral({ requestId: 'accept-uncovered', referralId: uncovered });

    const denied = await grpcError(client.fetchNewcomerData({ requestId: 'fetch-uncovered', referralId: uncovered }));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(await providerRunning.ctx.db.selectFrom('newcomer_record').selectAll().where('referral_id', '=', uncovered).execute()).toEqual([]);
    expect(await outboxEvents('NewcomerDataReceived', uncovered)).toEqual([]);

    const log = await foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', notCovered.caseRef).execute();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ caller_agency_id: providerId, outcome: 'denied', legal_basis: null });
  });

  it("refuses every call made with another agency's certificate", async () => {
    const calls = [
      clientWithFoCert.listReferrals({ status: 0, pageSize: 0, pageToken: '' }),
      clientWithFoCert.getReferral({ referralId }),
      clientWithFoCert.acceptReferral({ requestId: 'fo-accept', referralId }),
      clientWithFoCert.declineReferral({ requestId: 'fo-decline', referralId, reason: DeclineReason.DECLINE_REASON_OTHER }),
      clientWithFoCert.fetchNewcomerData({ requestId: 'fo-fetch', referralId }),
      clientWithFoCert.recordFirstContact({ requestId: 'fo-contact', referralId, contactDate: today(), channel: ContactChannel.CONTACT_CHANNEL_PHONE, interpreterUsed: false }),
    ];
    for (const call of calls) {
      const error = await grpcError(call);
      expect(error.code).toBe(status.PERMISSION_DENIED);
      expect(error.details).toMatch(/authorisation matrix lets only .+ itself call/);
    }
    // Nothing was disclosed again to anyone.
    expect(await foRunning.ctx.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', covered.caseRef).execute()).toHaveLength(1);
  });
});
