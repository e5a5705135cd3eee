import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { common, envelope, events, foreignOffice } from '@lotse/contracts';
import { createTestDatabase, openDatabase, sql, testServerUrl, type Database, type TestDatabase } from '@lotse/db';
import { createClient, fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { connectNats, durableNameFor, ensureAgencyStream, eventSubject, streamName, type NatsClients } from '@lotse/messaging';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceReferralWith } from '@lotse/testing';
import { create, toConfig } from '../src/index.js';

// Integration tier: the foreign office booted in-process through its composition root, against
// the real PostgreSQL and NATS JetStream, called over real gRPC with mTLS. Fresh database,
// agency ids and streams per suite, so runs never see each other's data.

const { Purpose, DataCategory, ReferralStatus, AgeGroup } = common;
const { ResidenceStatus } = foreignOffice;
const natsUrl = 'nats://127.0.0.1:4222';

type Client = PromiseClient<foreignOffice.ForeignOfficeServiceClient>;

const hex = () => randomBytes(4).toString('hex');
const foId = `fo-test-${hex()}`;
const hubId = `hub-test-${hex()}`;
const caritasId = `caritas-test-${hex()}`;
const jobCentreId = `jobcenter-test-${hex()}`;

let testDb: TestDatabase;
let query: Database<any>;
let nats: NatsClients;
let pkiDir: string;
let service: ReturnType<typeof create>;
let port: number;
const clients: Client[] = [];
let fo: Client;
let caritas: Client;
let jobCentre: Client;

function clientAs(id: string): Client {
  const client = createClient(foreignOffice.ForeignOfficeServiceClient, `127.0.0.1:${port}`, loadIdentity(pkiDir, id));
  clients.push(client);
  return client;
}

async function failure(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

const fieldsOf = (error: ServiceError) => fieldViolationsOf(error).map((v) => v.field);

async function count(table: string, where = sql`true`): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${where}`.execute(query.db);
  return rows[0]!.n;
}

async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const foStreamMessages = async () => (await nats.jsm.streams.info(streamName(foId))).state.messages;

function newcomerRequest(overrides: Partial<foreignOffice.RegisterNewcomerRequest> = {}): foreignOffice.RegisterNewcomerRequest {
  return foreignOffice.RegisterNewcomerRequest.fromPartial({
    requestId: `reg-${uuidv7()}`,
    givenNames: 'Amira',
    familyName: 'Haddad',
    birthDate: '1990-05-17',
    nationality: 'SY',
    languages: ['ar', 'en'],
    municipality: 'andernach',
    residenceStatus: ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
    ...overrides,
  });
}

function consentRequest(newcomerId: string, overrides: Partial<foreignOffice.RecordConsentRequest> = {}): foreignOffice.RecordConsentRequest {
  return foreignOffice.RecordConsentRequest.fromPartial({
    requestId: `consent-${uuidv7()}`,
    newcomerId,
    recipients: ['migration-services'],
    purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
    dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
    textVersion: 'mbe-einwilligung-2026-01',
    language: 'ar',
    interpreterUsed: true,
    ...overrides,
  });
}

async function register(overrides: Partial<foreignOffice.RegisterNewcomerRequest> = {}): Promise<foreignOffice.Newcomer> {
  return (await fo.registerNewcomer(newcomerRequest(overrides))).newcomer!;
}

/** A newcomer with a consent for migration counselling and a requested referral. */
async function referredNewcomer() {
  const newcomer = await register();
  const consent = (await fo.recordConsent(consentRequest(newcomer.newcomerId))).consent!;
  const referral = (
    await fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' })
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
    producerAgencyId: hubId,
    caseRef: referral.caseRef,
    schemaVersion: 1,
    payload: Buffer.from(payload),
  }).finish();
  return { eventId, bytes };
}

const statusSubject = () => eventSubject(hubId, 'ReferralStatusChanged', foId);

/** Publishes into the hub's stream as the hub would; returns the stream sequence. */
async function publishFromHub(bytes: Uint8Array, msgID: string): Promise<number> {
  await ensureAgencyStream(nats.jsm, hubId);
  const ack = await nats.js.publish(statusSubject(), bytes, { msgID });
  return ack.seq;
}

/** The foreign office's consumer has handled (acked or terminated) everything up to `seq`. */
async function consumerCaughtUp(seq: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      const info = await nats.jsm.consumers.info(streamName(hubId), durableNameFor(foId, statusSubject()));
      return info.ack_floor.stream_seq >= seq && info.num_ack_pending === 0 && info.num_pending === 0;
    },
    `consumer to handle stream sequence ${seq}`,
    timeoutMs,
  );
}

async function referralRow(referralId: string) {
  return query.db.selectFrom('referral').selectAll().where('referral_id', '=', referralId).executeTakeFirstOrThrow();
}

beforeAll(async () => {
  pkiDir = await mkdtemp(join(tmpdir(), 'lotse-fo-pki-'));
  await ensureDevPki(pkiDir, [
    { id: foId, agencyType: 'foreign-office' },
    { id: caritasId, agencyType: 'migration-services' },
    { id: jobCentreId, agencyType: 'job-centre' },
  ]);
  testDb = await createTestDatabase('lotse_fo');
  nats = await connectNats({ servers: natsUrl, name: `${foId}-test` });
  const config = toConfig({
    AGENCY_ID: foId,
    HUB_AGENCY_ID: hubId,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    DATABASE_URL: testDb.url,
    NATS_URL: natsUrl,
    PKI_DIR: pkiDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  });
  service = create(config);
  port = (await service.start()).grpcPort;
  query = await openDatabase<any>({ url: testDb.url, dataDir: 'unused', poolSize: 2 });
  fo = clientAs(foId);
  caritas = clientAs(caritasId);
  jobCentre = clientAs(jobCentreId);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await service?.stop();
  await query?.close();
  if (nats) {
    for (const id of [foId, hubId]) await nats.jsm.streams.delete(streamName(id)).catch(() => undefined);
    await nats.close();
  }
  if (testDb) {
    // pg's pool.end() resolves before the server has seen the sockets go; dropping WITH (FORCE)
    // meanwhile makes the late FATAL surface as an uncaught error, so wait for them first.
    const admin = await openDatabase<any>({ url: testServerUrl, dataDir: 'unused', poolSize: 1 });
    try {
      await waitFor(
        async () => (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = ${testDb.name}`.execute(admin.db)).rows[0]!.n === 0,
        'test database connections to close',
        5_000,
      ).catch(() => undefined);
    } finally {
      await admin.close();
    }
    await testDb.drop();
  }
  if (pkiDir) await rm(pkiDir, { recursive: true, force: true });
});

describe('foreign office (integration: PostgreSQL, NATS, gRPC over mTLS)', () => {
  it('keeps names in Arabic, Cyrillic and with umlauts byte-for-byte', async () => {
    const names = [
      { givenNames: 'محمد', familyName: 'الأحمد' },
      { givenNames: 'Олена', familyName: 'Шевченко' },
      // Composed and decomposed umlauts: the service must not normalise what it was given.
      { givenNames: 'Jürgen', familyName: 'Größe Ju\u0308rgensen' },
    ];
    for (const name of names) {
      const registered = await register(name);
      const { newcomer } = await fo.getNewcomer({ newcomerId: registered.newcomerId });
      for (const field of ['givenNames', 'familyName'] as const) {
        expect(Buffer.from(newcomer![field], 'utf8').equals(Buffer.from(name[field], 'utf8'))).toBe(true);
      }
      const row = await query.db.selectFrom('newcomer').select(['given_names', 'family_name']).where('newcomer_id', '=', registered.newcomerId).executeTakeFirstOrThrow();
      expect(row).toEqual({ given_names: name.givenNames, family_name: name.familyName });
    }
    // The 200-character limit counts characters, not UTF-8 bytes.
    const long = await register({ familyName: 'ö'.repeat(200) });
    expect((await fo.getNewcomer({ newcomerId: long.newcomerId })).newcomer!.familyName).toBe('ö'.repeat(200));
  });

  describe('bad input writes nothing', () => {
    const nextYear = `${new Date().getUTCFullYear() + 1}-01-15`;
    const cases: [string, Partial<foreignOffice.RegisterNewcomerRequest>, string][] = [
      ['empty given names', { givenNames: '   ' }, 'given_names'],
      ['a family name of 201 characters', { familyName: 'x'.repeat(201) }, 'family_name'],
      ['a birth date in the future', { birthDate: nextYear }, 'birth_date'],
      ['a birth date that does not exist', { birthDate: '2026-02-30' }, 'birth_date'],
      ['an unknown residence status', { residenceStatus: 99 as foreignOffice.ResidenceStatus }, 'residence_status'],
      ['no languages', { languages: [] }, 'languages'],
      ['a nationality that is no ISO code', { nationality: 'Syria' }, 'nationality'],
    ];

    it.each(cases)('RegisterNewcomer with %s → INVALID_ARGUMENT naming the field', async (_, overrides, field) => {
      const [newcomers, idempotency] = [await count('newcomer'), await count('idempotency')];
      const error = await failure(fo.registerNewcomer(newcomerRequest(overrides)));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldsOf(error)).toEqual([field]);
      expect(await count('newcomer')).toBe(newcomers);
      expect(await count('idempotency')).toBe(idempotency);
    });

    // Every bad field the service's rules find, at once. (An enum number the .proto does not
    // define is refused earlier, at the edge, with the other wire-level problems.)
    it('names every bad field of one request at once', async () => {
      const before = await count('newcomer');
      const idempotencyBefore = await count('idempotency');
      const error = await failure(
        fo.registerNewcomer(
          newcomerRequest({ givenNames: '', familyName: 'x'.repeat(201), birthDate: '2026-02-30', nationality: 'syr', languages: [], residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_UNSPECIFIED }),
        ),
      );
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(new Set(fieldsOf(error))).toEqual(new Set(['given_names', 'family_name', 'birth_date', 'nationality', 'languages', 'residence_status']));
      expect(await count('newcomer')).toBe(before);
      expect(await count('idempotency')).toBe(idempotencyBefore);
    });

    it('refuses a consent without purpose, for an unknown newcomer or already expired', async () => {
      const newcomer = await register();
      const before = await count('consent');

      const noPurpose = await failure(fo.recordConsent(consentRequest(newcomer.newcomerId, { purposes: [] })));
      expect(noPurpose.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldsOf(noPurpose)).toEqual(['purposes']);

      const unknown = await failure(fo.recordConsent(consentRequest(uuidv7())));
      expect(unknown.code).toBe(status.NOT_FOUND);
      expect(unknown.details).toContain('newcomer_id');

      const expired = await failure(fo.recordConsent(consentRequest(newcomer.newcomerId, { expiresAt: new Date(Date.now() - 60_000) })));
      expect(expired.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldsOf(expired)).toEqual(['expires_at']);

      expect(await count('consent')).toBe(before);
    });
  });

  describe('idempotency', () => {
    it('a retry with the same request id returns the first newcomer and creates one row', async () => {
      const request = newcomerRequest({ givenNames: 'Idem', familyName: `Potent-${hex()}` });
      const first = (await fo.registerNewcomer(request)).newcomer!;
      const second = (await fo.registerNewcomer(request)).newcomer!;
      expect(second).toEqual(first);
      // Concurrent retries too (the advisory lock serialises them on the pooled connection).
      const concurrent = await Promise.all(Array.from({ length: 5 }, () => fo.registerNewcomer(request)));
      for (const { newcomer } of concurrent) expect(newcomer!.newcomerId).toBe(first.newcomerId);
      expect(await count('newcomer', sql`family_name = ${request.familyName}`)).toBe(1);
    });

    it('the same request id with other content → INVALID_ARGUMENT naming request_id', async () => {
      const request = newcomerRequest({ familyName: `Reuse-${hex()}` });
      await fo.registerNewcomer(request);
      const error = await failure(fo.registerNewcomer({ ...request, givenNames: 'Someone Else' }));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldsOf(error)).toEqual(['request_id']);
      expect(await count('newcomer', sql`family_name = ${request.familyName}`)).toBe(1);
      expect(await count('newcomer', sql`given_names = 'Someone Else'`)).toBe(0);
    });
  });

  describe('referral requests', () => {
    it('without a consent for migration counselling → PERMISSION_DENIED, and nothing moves', async () => {
      const newcomer = await register();
      // A consent for another purpose is no basis for this one.
      await fo.recordConsent(consentRequest(newcomer.newcomerId, { recipients: ['job-centre'], purposes: [Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION] }));
      const [referrals, outbox, messages] = [await count('referral'), await count('outbox'), await foStreamMessages()];

      const error = await failure(
        fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' }),
      );
      expect(error.code).toBe(status.PERMISSION_DENIED);

      // Longer than the relay's poll interval (500 ms): had anything been enqueued, it would be out by now.
      await sleep(700);
      expect(await count('referral')).toBe(referrals);
      expect(await count('outbox')).toBe(outbox);
      expect(await foStreamMessages()).toBe(messages);
    });

    it('with consent → a REQUESTED referral and one thin ReferralRequested event; a retry adds nothing', async () => {
      const name = { givenNames: 'Олена', familyName: `Коваль-${hex()}`, birthDate: '1985-03-09' };
      const newcomer = await register(name);
      const consent = (await fo.recordConsent(consentRequest(newcomer.newcomerId))).consent!;
      const messagesBefore = await foStreamMessages();
      const outboxBefore = await count('outbox');

      const request: foreignOffice.RequestReferralRequest = {
        requestId: `ref-${uuidv7()}`,
        newcomerId: newcomer.newcomerId,
        purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
        consentId: '',
        preferredProviderId: '',
      };
      const { referral } = await fo.requestReferral(request);
      expect(referral).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_REQUESTED, consentId: consent.consentId, caseRef: newcomer.caseRef });

      const row = await referralRow(referral!.referralId);
      expect(row).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_REQUESTED, newcomer_id: newcomer.newcomerId, consent_id: consent.consentId, provider_id: null });

      const subject = `lotse.${foId}.referral-requested`;
      // The stream's count may move for another event first (one relayed late from an earlier
      // test): wait for this referral's own event under its subject.
      const stored = await waitFor(async () => {
        const last = await nats.jsm.streams.getMessage(streamName(foId), { last_by_subj: subject }).catch(() => null);
        return last && envelope.Envelope.decode(last.data).caseRef === newcomer.caseRef ? last : undefined;
      }, 'the referral event in the stream');
      const env = envelope.Envelope.decode(stored!.data);
      expect(env).toMatchObject({ eventType: 'ReferralRequested', producerAgencyId: foId, caseRef: newcomer.caseRef, schemaVersion: 1 });
      expect(stored!.header.get('Nats-Msg-Id')).toBe(env.eventId);
      const event = events.ReferralRequested.decode(env.payload);
      expect(event).toMatchObject({
        referralId: referral!.referralId,
        caseRef: newcomer.caseRef,
        referrerAgencyId: foId,
        purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
        consentId: consent.consentId,
        consentedRecipients: ['migration-services'],
        municipality: 'andernach',
        ageGroup: AgeGroup.AGE_GROUP_ADULT,
      });
      // Thin event: no personal data on the wire, in any encoding.
      const raw = Buffer.from(stored!.data);
      for (const personal of [name.givenNames, name.familyName, name.birthDate, newcomer.newcomerId]) {
        expect(raw.includes(Buffer.from(personal, 'utf8'))).toBe(false);
      }
      // The relay marks the row once the broker acknowledged it, which may come after the stream has it.
      await waitFor(
        async () => (await query.db.selectFrom('outbox').select('published_at').where('event_id', '=', env.eventId).executeTakeFirstOrThrow()).published_at !== null,
        'the outbox row marked published',
      );

      // Retry: the first answer, no second referral, no second event.
      const retry = await fo.requestReferral(request);
      expect(retry.referral).toEqual(referral);
      await sleep(700);
      expect(await count('referral', sql`newcomer_id = ${newcomer.newcomerId}`)).toBe(1);
      expect(await count('outbox')).toBe(outboxBefore + 1);
      expect(await foStreamMessages()).toBe(messagesBefore + 1);
    });
  });

  describe('the languages the newcomer speaks, for routing', () => {
    const subject = () => `lotse.${foId}.referral-requested`;
    /** The ReferralRequested of a case as it went out on the wire (NATS), once the relay published it. */
    async function publishedReferral(caseRef: string) {
      const row = await waitFor(
        async () => {
          const found = await query.db.selectFrom('outbox').selectAll().where('case_ref', '=', caseRef).where('event_type', '=', 'ReferralRequested').executeTakeFirst();
          return found?.published_at ? found : undefined;
        },
        'the referral event published',
      );
      const stored = await nats.jsm.streams.getMessage(streamName(foId), { last_by_subj: subject() });
      const env = envelope.Envelope.decode(stored!.data);
      expect(env.eventId).toBe(row.event_id);
      return events.ReferralRequested.decode(env.payload);
    }
    const requestFor = (newcomerId: string, consentId = '') =>
      fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId, preferredProviderId: '' });

    it('go to the hub on the referral event, as registered, when the consent grants the category', async () => {
      const newcomer = await register({ languages: ['uk', 'ru'] });
      await fo.recordConsent(consentRequest(newcomer.newcomerId));
      const { referral } = await requestFor(newcomer.newcomerId);
      const event = await publishedReferral(newcomer.caseRef);
      expect(event).toMatchObject({ referralId: referral!.referralId, municipality: 'andernach', ageGroup: AgeGroup.AGE_GROUP_ADULT, languages: ['uk', 'ru'] });
      // On record as an export of the languages with the other routing facts, on the consent.
      const audit = await query.db.selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).where('action', '=', 'export').execute();
      expect(audit.map((r: any) => r.categories)).toEqual([[DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP]]);
    });

    it('stay at the foreign office when the consent does not grant the category: the referral goes without them', async () => {
      const newcomer = await register({ languages: ['uk', 'ru'] });
      const consent = (await fo.recordConsent(consentRequest(newcomer.newcomerId, { dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY] }))).consent!;
      const { referral } = await requestFor(newcomer.newcomerId);
      const event = await publishedReferral(newcomer.caseRef);
      expect(event).toMatchObject({ referralId: referral!.referralId, consentId: consent.consentId, municipality: 'andernach', languages: [] });
      const audit = await query.db.selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).where('action', '=', 'export').execute();
      expect(audit.map((r: any) => r.categories)).toEqual([[DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP]]);
    });

    it('nothing is published for a referral whose consent no longer covers it (withdrawn): PERMISSION_DENIED', async () => {
      const newcomer = await register({ languages: ['uk', 'ru'] });
      const consent = (await fo.recordConsent(consentRequest(newcomer.newcomerId))).consent!;
      await fo.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: '' });
      // The withdrawal's own event out first, so that the counts below are settled.
      await waitFor(async () => (await count('outbox', sql`published_at is null`)) === 0, 'the outbox to drain');
      const [referrals, outbox, messages] = [await count('referral'), await count('outbox'), await foStreamMessages()];

      for (const consentId of [consent.consentId, '']) {
        const error = await failure(requestFor(newcomer.newcomerId, consentId));
        expect(error.code).toBe(status.PERMISSION_DENIED);
      }
      await sleep(700);
      expect(await count('referral')).toBe(referrals);
      expect(await count('outbox')).toBe(outbox);
      expect(await count('outbox', sql`case_ref = ${newcomer.caseRef} and event_type = 'ReferralRequested'`)).toBe(0);
      expect(await foStreamMessages()).toBe(messages);
    });
  });

  describe('status updates from the hub', () => {
    it('applies ACCEPTED once, ignores a redelivered copy and a stale PENDING', async () => {
      await ensureAgencyStream(nats.jsm, hubId);
      const { newcomer, referral } = await referredNewcomer();

      const accepted = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, providerId: caritasId });
      await publishFromHub(accepted.bytes, accepted.eventId);
      await waitFor(async () => {
        const { referrals } = await fo.listReferrals({ newcomerId: newcomer.newcomerId, status: 0, pageSize: 0, pageToken: '' });
        return referrals[0]?.status === ReferralStatus.REFERRAL_STATUS_ACCEPTED;
      }, 'the referral to be ACCEPTED');
      const afterAccept = await referralRow(referral.referralId);
      expect(afterAccept.provider_id).toBe(caritasId);

      // The same event again under another Nats-Msg-Id gets past the broker; applied_event drops it.
      const seq = await publishFromHub(accepted.bytes, `${accepted.eventId}-again`);
      await consumerCaughtUp(seq);
      expect(await count('applied_event', sql`event_id = ${accepted.eventId}`)).toBe(1);
      expect(await referralRow(referral.referralId)).toEqual(afterAccept);

      // A late PENDING (overtaken by the acceptance) never moves the referral back.
      const stale = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: 'someone-else' });
      await consumerCaughtUp(await publishFromHub(stale.bytes, stale.eventId));
      expect(await count('applied_event', sql`event_id = ${stale.eventId}`)).toBe(1);
      expect(await referralRow(referral.referralId)).toEqual(afterAccept);
      const { referrals } = await fo.listReferrals({ newcomerId: newcomer.newcomerId, status: 0, pageSize: 0, pageToken: '' });
      expect(referrals.map((r) => r.status)).toEqual([ReferralStatus.REFERRAL_STATUS_ACCEPTED]);
    });

    it('follows a re-route: a pending referral the hub routed to another provider after a decline names the new provider', async () => {
      await ensureAgencyStream(nats.jsm, hubId);
      const { referral } = await referredNewcomer();
      const first = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: caritasId });
      await consumerCaughtUp(await publishFromHub(first.bytes, first.eventId));
      expect((await referralRow(referral.referralId)).provider_id).toBe(caritasId);
      const rerouted = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: 'awo-rheinland' });
      await consumerCaughtUp(await publishFromHub(rerouted.bytes, rerouted.eventId));
      expect(await referralRow(referral.referralId)).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_PENDING, provider_id: 'awo-rheinland' });
    });

    it('parks a malformed message after bounded retries and still applies the next update', async () => {
      await ensureAgencyStream(nats.jsm, hubId);
      const { referral } = await referredNewcomer();
      const garbage = Buffer.from('this is not a protobuf envelope \xff\xfe', 'latin1');
      await publishFromHub(garbage, `garbage-${uuidv7()}`);
      const pending = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: caritasId });
      await publishFromHub(pending.bytes, pending.eventId);

      // A nak'd message does not block the ones behind it: the valid update goes through at once.
      await waitFor(async () => (await referralRow(referral.referralId)).status === ReferralStatus.REFERRAL_STATUS_PENDING, 'the valid update behind the bad one');
      // Default retry delays 200 + 1000 + 3000 + 5000 ms before the fifth delivery parks it.
      const parked = await waitFor(async () => {
        const rows = await query.db.selectFrom('parked_message').selectAll().where('subject', '=', statusSubject()).execute();
        return rows.length > 0 && rows;
      }, 'the malformed message to be parked', 20_000);
      expect(parked).toHaveLength(1);
      expect(parked[0]).toMatchObject({ consumer: foId, stream: streamName(hubId), event_id: null, deliveries: 5, replayed_at: null, discarded_at: null });
      expect(Buffer.from(parked[0]!.data).equals(garbage)).toBe(true);
      expect(parked[0]!.error).toMatch(/malformed event/);
      expect((await referralRow(referral.referralId)).provider_id).toBe(caritasId);

      // Once it is parked (terminated at the broker), updates keep flowing.
      const accepted = statusChangedEnvelope(referral, { status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, providerId: caritasId });
      await consumerCaughtUp(await publishFromHub(accepted.bytes, accepted.eventId));
      expect((await referralRow(referral.referralId)).status).toBe(ReferralStatus.REFERRAL_STATUS_ACCEPTED);
      expect(await count('parked_message')).toBe(1);
    }, 30_000);
  });

  describe('disclosure to other agencies and who may call', () => {
    it('gives a consented provider only the granted categories and logs every request', async () => {
      const newcomer = await register({ givenNames: 'محمد', familyName: 'الخطيب', nationality: 'SY', languages: ['ar', 'ku'] });
      const consent = (await fo.recordConsent(consentRequest(newcomer.newcomerId))).consent!;
      const logged = () =>
        query.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', newcomer.caseRef).orderBy('id').execute();

      // Only once the hub says a referral of the case is with caritas (accepted) does anything leave.
      await announceReferralWith(nats, { hubId, ownerId: foId, caseRef: newcomer.caseRef, providerId: caritasId });
      await waitFor(async () => (await query.db.selectFrom('referral_recipient').select('status').where('case_ref', '=', newcomer.caseRef).executeTakeFirst()) !== undefined, 'the acceptance at the office');
      const disclosed = await caritas.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' });
      expect(disclosed).toMatchObject({
        caseRef: newcomer.caseRef,
        consentId: consent.consentId,
        legalBasis: `consent:${consent.consentId}`,
        grantedCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
        givenNames: 'محمد',
        familyName: 'الخطيب',
        birthDate: newcomer.birthDate,
        languages: ['ar', 'ku'],
        nationality: '',
        residenceStatus: ResidenceStatus.RESIDENCE_STATUS_UNSPECIFIED,
        municipality: '',
      });
      let log = await logged();
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ caller_agency_id: caritasId, outcome: 'granted', legal_basis: `consent:${consent.consentId}`, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING });

      // Asking for more than was granted returns the intersection only.
      const narrowed = await caritas.discloseNewcomerData({
        caseRef: newcomer.caseRef,
        purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
        categories: [DataCategory.DATA_CATEGORY_NATIONALITY, DataCategory.DATA_CATEGORY_LANGUAGES],
        referralId: '',
      });
      expect(narrowed).toMatchObject({ grantedCategories: [DataCategory.DATA_CATEGORY_LANGUAGES], languages: ['ar', 'ku'], nationality: '', givenNames: '', birthDate: '' });

      const denied = await failure(jobCentre.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }));
      expect(denied.code).toBe(status.PERMISSION_DENIED);
      expect(denied.details).not.toContain('محمد');

      log = await logged();
      expect(log.map((r) => [r.caller_agency_id, r.outcome])).toEqual([
        [caritasId, 'granted'],
        [caritasId, 'granted'],
        [jobCentreId, 'denied'],
      ]);
      expect(log[1]!.categories).toEqual([DataCategory.DATA_CATEGORY_LANGUAGES]);
      expect(log[2]!.legal_basis).toBeNull();
    });

    it('a referral re-routed to the caller after a decline: UNAVAILABLE while the office still has it with the provider that declined, granted once the word arrives', async () => {
      const newcomer = await register();
      await fo.recordConsent(consentRequest(newcomer.newcomerId));
      const declinedBy = `awo-test-${hex()}`;
      const announce = (providerId: string, referralStatus: common.ReferralStatus, known?: typeof query.db) =>
        announceReferralWith(nats, { hubId, ownerId: foId, caseRef: newcomer.caseRef, providerId, referralId, status: referralStatus }, known);
      const referralId = uuidv7();
      // The office knows the first routing only: the re-route to caritas (and caritas' acceptance)
      // are still on their way, a hop behind the ReferralRouted that caritas already acted on.
      await announce(declinedBy, ReferralStatus.REFERRAL_STATUS_PENDING, query.db);
      const ask = () => caritas.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId });
      const early = await failure(ask());
      // Not refused for good (the owner clients retry UNAVAILABLE), and the other deployment is not named.
      expect(early.code).toBe(status.UNAVAILABLE);
      expect(early.details).not.toContain(declinedBy);
      expect(early.details).not.toContain(newcomer.familyName);
      const refusal = await query.db.selectFrom('data_access_log').select(['caller_agency_id', 'outcome']).where('case_ref', '=', newcomer.caseRef).execute();
      expect(refusal).toEqual([{ caller_agency_id: caritasId, outcome: 'denied' }]);

      await announce(caritasId, ReferralStatus.REFERRAL_STATUS_PENDING);
      await announce(caritasId, ReferralStatus.REFERRAL_STATUS_ACCEPTED, query.db);
      expect((await ask()).familyName).toBe(newcomer.familyName);
    });

    it("refuses caseworker calls with another agency's certificate and writes nothing", async () => {
      const before = await count('newcomer');
      const error = await failure(caritas.registerNewcomer(newcomerRequest()));
      expect(error.code).toBe(status.PERMISSION_DENIED);
      expect(await count('newcomer')).toBe(before);

      const existing = await register();
      const read = await failure(caritas.getNewcomer({ newcomerId: existing.newcomerId }));
      expect(read.code).toBe(status.PERMISSION_DENIED);
      const list = await failure(jobCentre.listReferrals({ newcomerId: '', status: 0, pageSize: 0, pageToken: '' }));
      expect(list.code).toBe(status.PERMISSION_DENIED);
    });

    it("refuses a certificate for the foreign office's own id from another CA", async () => {
      const rogueDir = await mkdtemp(join(tmpdir(), 'lotse-fo-rogue-'));
      try {
        await ensureDevPki(rogueDir, [{ id: foId, agencyType: 'foreign-office' }]);
        const rogue = loadIdentity(rogueDir, foId);
        // Trusts the real CA (so the server is accepted) but presents a certificate it did not sign.
        const client = createClient(foreignOffice.ForeignOfficeServiceClient, `127.0.0.1:${port}`, { ...rogue, ca: await readFile(join(pkiDir, 'ca.crt')) });
        clients.push(client);
        const before = await count('newcomer');
        const error = await failure(client.registerNewcomer(newcomerRequest(), { deadlineMs: 3000 }));
        expect(error.code).toBe(status.UNAVAILABLE);
        expect(await count('newcomer')).toBe(before);
      } finally {
        await rm(rogueDir, { recursive: true, force: true });
      }
    });
  });
});
