// Integration tier: a newcomer withdraws at the provider (one call, passed on to the real foreign
// office), the provider erases at once, and confirms the hub's erasure request — on the real
// PostgreSQL and NATS, over gRPC with mTLS. Plus fetches raced against withdrawals.
import { status, type ServiceError } from '@grpc/grpc-js';
import { common, events, foreignOffice, migrationServices as ms } from '@lotse/contracts';
import { fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { durableNameFor, eventSubject, type NatsClients } from '@lotse/messaging';
import type { RunningAgency } from '@lotse/runtime';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create as createForeignOffice, type ForeignOfficeDb } from '@lotse/foreign-office';
import { create, type MigrationServicesDb } from '../src/index.js';
import { announceReferralWith, grpcError, publishEvent, randomId, sleep, startTestNetwork, streamEvents, waitConsumed, waitFor, type TestNetwork } from '@lotse/testing';

const { DataCategory, Purpose, AgeGroup } = common;
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

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'provider-withdrawal',
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
  client = provider.client(ms.MigrationServicesServiceClient, providerId, { deadlineMs: 20_000 });
});

afterAll(() => net?.close());

// --- helpers -------------------------------------------------------------------------------------

async function registerWithConsent(names = { givenNames: 'ليلى', familyName: 'الخطيب' }) {
  const { newcomer } = await foClient.registerNewcomer({
    requestId: `reg-${uuidv7()}`,
    ...names,
    birthDate: '1990-04-12',
    nationality: 'SY',
    languages: ['ar', 'en'],
    municipality: 'andernach',
    residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
  });
  const { consent } = await foClient.recordConsent({
    requestId: `consent-${uuidv7()}`,
    newcomerId: newcomer!.newcomerId,
    recipients: ['migration-services'],
    purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
    dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
    expiresAt: undefined,
    textVersion: 'mbe-einwilligung-2026-01',
    language: 'ar',
    interpreterUsed: true,
  });
  return { caseRef: newcomer!.caseRef, consentId: consent!.consentId, newcomerId: newcomer!.newcomerId };
}

const inboxRow = (referralId: string) => providerRunning.ctx.db.selectFrom('received_referral').selectAll().where('referral_id', '=', referralId).executeTakeFirst();
const recordOf = (referralId: string) => providerRunning.ctx.db.selectFrom('newcomer_record').selectAll().where('referral_id', '=', referralId).executeTakeFirst();

/** Plays the hub: routes a referral here and waits for it in the inbox; accepts it. */
async function acceptedReferral(newcomer: { caseRef: string; consentId: string }) {
  const referralId = uuidv7();
  await publishEvent(nats, {
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
  });
  await waitFor(() => inboxRow(referralId), `referral ${referralId} in the inbox`);
  await client.acceptReferral({ requestId: `accept-${uuidv7()}`, referralId });
  // … and tells the owner the referral is with this provider now, as the hub does.
  await announceReferralWith(nats, { hubId, ownerId: foId, caseRef: newcomer.caseRef, providerId, referralId }, foRunning.ctx.db);
  return referralId;
}

async function requestErasure(newcomer: { caseRef: string; consentId: string }) {
  await publishEvent(nats, {
    producer: hubId,
    audience: providerId,
    codec: events.ErasureRequested,
    message: events.ErasureRequested.fromPartial({ consentId: newcomer.consentId, caseRef: newcomer.caseRef, recipient: providerId, ownerAgencyId: foId, withdrawnAt: new Date(), requestedAt: new Date() }),
    caseRef: newcomer.caseRef,
  });
}

async function confirmations(consentId: string) {
  return (await streamEvents(nats, providerId))
    .filter((e) => e.subject === eventSubject(providerId, 'ErasureConfirmed'))
    .map((e) => events.ErasureConfirmed.decode(e.envelope.payload))
    .filter((c) => c.consentId === consentId);
}

// --- tests ---------------------------------------------------------------------------------------

describe('withdrawal at the provider', () => {
  it('is one call: passed on to the owner, and everything received under the consent is erased here at once', async () => {
    const newcomer = await registerWithConsent();
    const referralId = await acceptedReferral(newcomer);
    await client.fetchNewcomerData({ requestId: `fetch-${uuidv7()}`, referralId });
    expect(await recordOf(referralId)).toBeDefined();

    const request = { requestId: `wd-${uuidv7()}`, referralId, reason: 'told the counsellor' };
    const answer = await client.withdrawConsent(request);
    expect(answer).toMatchObject({ consentId: newcomer.consentId, ownerAgencyId: foId, referral: { referralId, status: InboxStatus.INBOX_STATUS_WITHDRAWN, ageGroup: 0, dataFetched: false } });
    expect(answer.withdrawnAt).toBeInstanceOf(Date);

    // The owner recorded it, with where it was taken, and knows the provider got data.
    const { consents } = await foClient.getNewcomer({ newcomerId: newcomer.newcomerId });
    expect(consents[0]!.withdrawnAt).toEqual(answer.withdrawnAt);
    const atOwner = await foRunning.ctx.db.selectFrom('consent_withdrawal').selectAll().where('consent_id', '=', newcomer.consentId).executeTakeFirstOrThrow();
    expect(atOwner).toMatchObject({ received_by_agency_id: providerId, recipients_known: [providerId], reason: 'told the counsellor' });

    // Nothing received under the consent is left here; nothing more can be fetched.
    expect(await recordOf(referralId)).toBeUndefined();
    expect(await providerRunning.ctx.db.selectFrom('erasure').selectAll().where('consent_id', '=', newcomer.consentId).executeTakeFirstOrThrow()).toMatchObject({
      withdrawal_taken_here: true,
      erased_categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_AGE_GROUP],
      confirmed_at: null,
    });
    const fetch = await grpcError(client.fetchNewcomerData({ requestId: `fetch-${uuidv7()}`, referralId }));
    expect(fetch.code).toBe(status.PERMISSION_DENIED);
    expect((await client.getReferral({ referralId })).newcomer).toBeUndefined();
    // The owner refuses too.
    const direct = await grpcError(foClient.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }));
    expect(direct.code).toBe(status.PERMISSION_DENIED);
    // A retry answers the same.
    expect(await client.withdrawConsent(request)).toEqual(answer);

    // The hub's erasure request is confirmed with everything erased so far, nothing kept.
    await requestErasure(newcomer);
    const [confirmed] = await waitFor(async () => {
      const found = await confirmations(newcomer.consentId);
      return found.length ? found : undefined;
    }, 'the ErasureConfirmed event');
    expect(confirmed).toMatchObject({
      consentId: newcomer.consentId,
      caseRef: newcomer.caseRef,
      agency: providerId,
      erasedCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_AGE_GROUP],
      retained: [],
    });
  });

  it('erases on the hub’s request alone too (withdrawn elsewhere), and a late routing stays closed', async () => {
    const newcomer = await registerWithConsent({ givenNames: 'Олена', familyName: 'Коваль' });
    const referralId = await acceptedReferral(newcomer);
    await client.fetchNewcomerData({ requestId: `fetch-${uuidv7()}`, referralId });
    await foClient.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: newcomer.consentId, newcomerId: '', reason: '' });
    await requestErasure(newcomer);
    await waitFor(async () => (await confirmations(newcomer.consentId)).length > 0, 'the confirmation');
    expect(await recordOf(referralId)).toBeUndefined();
    expect(await inboxRow(referralId)).toMatchObject({ status: InboxStatus.INBOX_STATUS_WITHDRAWN, age_group: 0 });

    // A routing of the same consent that arrives late is kept closed, without its age group.
    const late = uuidv7();
    await publishEvent(nats, {
      producer: hubId,
      audience: providerId,
      codec: events.ReferralRouted,
      message: events.ReferralRouted.fromPartial({ referralId: late, caseRef: newcomer.caseRef, referrerAgencyId: foId, providerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: newcomer.consentId, ageGroup: AgeGroup.AGE_GROUP_ADULT }),
      caseRef: newcomer.caseRef,
    });
    await waitConsumed(nats, hubId, durableNameFor(providerId, `lotse.${hubId}.*.${providerId}`));
    expect(await inboxRow(late)).toMatchObject({ status: InboxStatus.INBOX_STATUS_WITHDRAWN, age_group: 0 });
  });

  it('bad input → the right status naming the field; nothing written', async () => {
    const before = (await providerRunning.ctx.db.selectFrom('erasure').select('consent_id').execute()).length;
    const unknown = uuidv7();
    const missing = await grpcError(client.withdrawConsent({ requestId: `wd-${uuidv7()}`, referralId: unknown, reason: '' }));
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toContain('referral_id');
    const empty = await grpcError(client.withdrawConsent({ requestId: '', referralId: '', reason: 'x'.repeat(501) }));
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(empty).map((v) => v.field)).toEqual(['request_id', 'referral_id', 'reason']);
    expect((await providerRunning.ctx.db.selectFrom('erasure').select('consent_id').execute()).length).toBe(before);
  });
});

describe('fetches raced against a withdrawal at the provider', () => {
  it('never leave data here, nor a disclosure after the withdrawal (20 races)', async () => {
    let fetched = 0;
    for (let i = 0; i < 20; i++) {
      const newcomer = await registerWithConsent();
      const referralId = await acceptedReferral(newcomer);
      const fetches = Array.from({ length: 3 }, () =>
        sleep(Math.floor(Math.random() * 15)).then(() =>
          client.fetchNewcomerData({ requestId: `fetch-${uuidv7()}`, referralId }).then(
            () => true,
            (error: ServiceError) => {
              expect([status.PERMISSION_DENIED, status.FAILED_PRECONDITION]).toContain(error.code);
              return false;
            },
          ),
        ),
      );
      const withdrawal = sleep(Math.floor(Math.random() * 10)).then(() => client.withdrawConsent({ requestId: `wd-${uuidv7()}`, referralId, reason: '' }));
      const [results] = await Promise.all([Promise.all(fetches), withdrawal]);
      fetched += results.filter(Boolean).length;
      // Whatever got through before the withdrawal has been erased here.
      expect(await recordOf(referralId), `race ${i}`).toBeUndefined();
      const marker = await foRunning.ctx.db.selectFrom('consent_withdrawal').selectAll().where('consent_id', '=', newcomer.consentId).executeTakeFirstOrThrow();
      const late = await foRunning.ctx.db
        .selectFrom('data_access_log')
        .select('id')
        .where('case_ref', '=', newcomer.caseRef)
        .where('outcome', '=', 'granted')
        .where('id', '>', marker.access_log_position)
        .execute();
      expect(late, `race ${i}`).toEqual([]);
    }
    expect(fetched).toBeGreaterThan(0);
  }, 120_000);
});
