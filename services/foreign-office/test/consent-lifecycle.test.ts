// Integration tier: consent texts, bad consent input, withdrawal at the foreign office, and the
// flow table checked at disclosure — on the real PostgreSQL and NATS, over gRPC with mTLS.
import { status } from '@grpc/grpc-js';
import { common, events, eventTypeOf, foreignOffice } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { fieldViolationsOf } from '@lotse/grpc';
import { grpcError, sleep, streamEvents, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentRequest, startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

const { Purpose, DataCategory, ReferralStatus } = common;
const { TextDirection } = foreignOffice;

let t: ForeignOfficeUnderTest;
beforeAll(async () => {
  t = await startForeignOfficeFixture();
});
afterAll(async () => {
  await t?.stop();
});

const fields = (error: Parameters<typeof fieldViolationsOf>[0]) => fieldViolationsOf(error).map((v) => v.field);
const referral = (newcomerId: string, requestId = `ref-${uuidv7()}`) =>
  t.fo.requestReferral({ requestId, newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
const disclose = (client = t.caritas, caseRef: string, categories: common.DataCategory[] = [], purpose = Purpose.PURPOSE_MIGRATION_COUNSELLING) =>
  client.discloseNewcomerData({ caseRef, purpose, categories, referralId: '' });
const withdrawnEvents = async () =>
  (await streamEvents(t.nats, t.foId)).filter((e) => e.envelope.eventType === eventTypeOf(events.ConsentWithdrawn)).map((e) => events.ConsentWithdrawn.decode(e.envelope.payload));

describe('consent texts', () => {
  it('are served in every supported language, right to left for Arabic, Farsi and Dari', async () => {
    for (const [language, direction] of [
      ['de', TextDirection.TEXT_DIRECTION_LTR],
      ['en', TextDirection.TEXT_DIRECTION_LTR],
      ['ar', TextDirection.TEXT_DIRECTION_RTL],
      ['uk', TextDirection.TEXT_DIRECTION_LTR],
      ['fa', TextDirection.TEXT_DIRECTION_RTL],
      ['prs', TextDirection.TEXT_DIRECTION_RTL],
      ['tr', TextDirection.TEXT_DIRECTION_LTR],
      ['ru', TextDirection.TEXT_DIRECTION_LTR],
    ] as const) {
      const text = await t.caritas.getConsentText({ language, textVersion: '' });
      expect(text).toMatchObject({ language, direction, textVersion: 'mbe-einwilligung-2026-01' });
      expect(text.text.length, language).toBeGreaterThan(400);
      expect(text.availableLanguages).toEqual(['de', 'en', 'ar', 'uk', 'fa', 'prs', 'tr', 'ru']);
    }
    expect((await t.fo.getConsentText({ language: 'fa-AF', textVersion: 'mbe-einwilligung-2026-01' })).language).toBe('prs');
    expect((await t.fo.getConsentText({ language: 'de', textVersion: '' })).text).toContain('jederzeit zurücknehmen');
  });

  it('an unknown language → INVALID_ARGUMENT naming language; an unknown version → NOT_FOUND naming text_version', async () => {
    const language = await grpcError(t.fo.getConsentText({ language: 'fr', textVersion: '' }));
    expect(language.code).toBe(status.INVALID_ARGUMENT);
    expect(fields(language)).toEqual(['language']);
    const version = await grpcError(t.fo.getConsentText({ language: 'de', textVersion: 'mbe-1999' }));
    expect(version.code).toBe(status.NOT_FOUND);
    expect(version.details).toContain('text_version');
  });
});

describe('recording a consent: bad input writes nothing', () => {
  const cases: [string, Partial<foreignOffice.RecordConsentRequest>, string[]][] = [
    ['no purpose', { purposes: [] }, ['purposes']],
    ['no recipient', { recipients: [] }, ['recipients']],
    ['an unknown language', { language: 'fr' }, ['language']],
    ['an unknown text version', { textVersion: 'mbe-1999' }, ['text_version']],
    ['an expiry in the past', { expiresAt: new Date(Date.now() - 1000) }, ['expires_at']],
    // The age group is a routing fact: no flow lets the foreign office disclose it.
    ['a category the flow table does not allow', { dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_AGE_GROUP] }, ['data_categories[1]']],
    ['a purpose no flow to the recipient allows', { purposes: [Purpose.PURPOSE_COMPETENCE_ASSESSMENT] }, ['purposes[0]', 'data_categories[0]', 'data_categories[1]']],
  ];
  it.each(cases)('%s → INVALID_ARGUMENT naming the field', async (_, overrides, expected) => {
    const newcomer = await t.register();
    const [consents, idempotency] = [await t.count('consent'), await t.count('idempotency')];
    const error = await grpcError(t.fo.recordConsent(consentRequest(newcomer.newcomerId, overrides)));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fields(error)).toEqual(expected);
    expect(await t.count('consent')).toBe(consents);
    expect(await t.count('idempotency')).toBe(idempotency);
  });

  it('accepts Dari as fa-AF and stores it as prs', async () => {
    const newcomer = await t.register();
    expect((await t.consent(newcomer.newcomerId, { language: 'fa-AF' })).language).toBe('prs');
  });
});

describe('withdrawal at the foreign office (Art. 7(3) GDPR)', () => {
  it('revokes the pending referral, tells the hub whom data went to, and lets nothing out afterwards', async () => {
    const newcomer = await t.register();
    const consent = await t.consent(newcomer.newcomerId);
    const { referral: pending } = await referral(newcomer.newcomerId);
    await t.referredTo(newcomer.caseRef, t.caritasId, { referralId: pending!.referralId });
    await disclose(t.caritas, newcomer.caseRef);

    const request = { requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: 'changed my mind' };
    const { consents } = await t.fo.withdrawConsent(request);
    expect(consents).toHaveLength(1);
    expect(consents[0]).toMatchObject({ consentId: consent.consentId, withdrawalReceivedBy: t.foId });
    expect(consents[0]!.withdrawnAt).toBeInstanceOf(Date);

    const row = await t.query.db.selectFrom('referral').selectAll().where('referral_id', '=', pending!.referralId).executeTakeFirstOrThrow();
    expect(row.status).toBe(ReferralStatus.REFERRAL_STATUS_WITHDRAWN);
    const event = await waitFor(async () => (await withdrawnEvents()).find((e) => e.consentId === consent.consentId), 'ConsentWithdrawn in the stream');
    expect(event).toMatchObject({ caseRef: newcomer.caseRef, recipientsKnown: [t.caritasId], receivedByAgencyId: t.foId, withdrawnReferralIds: [pending!.referralId] });

    // After the withdrawal: no disclosure (logged as refused), no referral under it.
    const denied = await grpcError(disclose(t.caritas, newcomer.caseRef));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    const log = await t.query.db.selectFrom('data_access_log').select(['outcome', 'flow_id']).where('case_ref', '=', newcomer.caseRef).orderBy('id').execute();
    expect(log).toEqual([
      { outcome: 'granted', flow_id: 'fo-provider-disclose' },
      { outcome: 'denied', flow_id: 'fo-provider-disclose' },
    ]);
    expect((await grpcError(referral(newcomer.newcomerId))).code).toBe(status.PERMISSION_DENIED);
    expect((await t.fo.getNewcomer({ newcomerId: newcomer.newcomerId })).consents[0]!.withdrawnAt).toEqual(consents[0]!.withdrawnAt);

    // A retry answers the same; a second withdrawal elsewhere changes nothing and sends nothing.
    expect(await t.fo.withdrawConsent(request)).toEqual({ consents });
    const again = await t.caritas.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: '' });
    expect(again.consents[0]).toMatchObject({ withdrawnAt: consents[0]!.withdrawnAt, withdrawalReceivedBy: t.foId });
    await sleep(700);
    expect((await withdrawnEvents()).filter((e) => e.consentId === consent.consentId)).toHaveLength(1);
    expect(await t.count('consent_withdrawal', sql`consent_id = ${consent.consentId}`)).toBe(1);
  });

  it('is taken from the agency a referral under it is with, and records where', async () => {
    const newcomer = await t.register();
    const consent = await t.consent(newcomer.newcomerId);
    await t.referredTo(newcomer.caseRef, t.caritasId, { status: ReferralStatus.REFERRAL_STATUS_PENDING });
    const { consents } = await t.caritas.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: '' });
    expect(consents[0]!.withdrawalReceivedBy).toBe(t.caritasId);
    const row = await t.query.db.selectFrom('consent_withdrawal').selectAll().where('consent_id', '=', consent.consentId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ received_by_agency_id: t.caritasId, recipients_known: [], reason: null });
  });

  it('by newcomer id withdraws every consent of the newcomer (caseworkers of the office only)', async () => {
    const newcomer = await t.register();
    const first = await t.consent(newcomer.newcomerId);
    const second = await t.consent(newcomer.newcomerId, { recipients: ['job-centre'], purposes: [Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION] });
    const fromProvider = await grpcError(t.caritas.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: '', newcomerId: newcomer.newcomerId, reason: '' }));
    expect(fromProvider.code).toBe(status.PERMISSION_DENIED);
    const { consents } = await t.fo.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: '', newcomerId: newcomer.newcomerId, reason: '' });
    expect(consents.map((c) => c.consentId).sort()).toEqual([first.consentId, second.consentId].sort());
    expect(consents.every((c) => c.withdrawnAt !== undefined)).toBe(true);
  });

  it('bad input and strangers write nothing', async () => {
    const newcomer = await t.register();
    const consent = await t.consent(newcomer.newcomerId);
    const before = [await t.count('consent_withdrawal'), await t.count('idempotency'), await t.count('outbox')];
    const unknownId = uuidv7();
    const unknown = await grpcError(t.fo.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: unknownId, newcomerId: '', reason: '' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toContain(`consent_id: no consent "${unknownId}"`);
    const neither = await grpcError(t.fo.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: '', newcomerId: '', reason: '' }));
    expect(neither.code).toBe(status.INVALID_ARGUMENT);
    expect(fields(neither)).toEqual(['consent_id']);
    const both = await grpcError(t.fo.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: newcomer.newcomerId, reason: '' }));
    expect(fields(both)).toEqual(['newcomer_id']);
    const long = await grpcError(t.fo.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: 'x'.repeat(501) }));
    expect(fields(long)).toEqual(['reason']);
    // The job centre is no recipient of this consent.
    const stranger = await grpcError(t.jobCentre.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: '' }));
    expect(stranger.code).toBe(status.PERMISSION_DENIED);
    expect([await t.count('consent_withdrawal'), await t.count('idempotency'), await t.count('outbox')]).toEqual(before);
    expect((await t.query.db.selectFrom('consent').select('withdrawn_at').where('consent_id', '=', consent.consentId).executeTakeFirstOrThrow()).withdrawn_at).toBeNull();
  });
});

describe('disclosure is checked against the flow table', () => {
  it('refuses a purpose without a row, and categories not in the table, naming them; the refusal is logged', async () => {
    const newcomer = await t.register();
    await t.consent(newcomer.newcomerId, { recipients: ['migration-services', 'job-centre'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING, Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION] });

    // The consent names the job centre for migration counselling too — but no flow exists for that.
    const purpose = await grpcError(disclose(t.jobCentre, newcomer.caseRef));
    expect(purpose.code).toBe(status.PERMISSION_DENIED);
    expect(purpose.details).toMatch(/^purpose: .*only for labour-market-integration(, [a-z-]+)*, not for migration-counselling/);
    // The age group is no category the foreign office discloses.
    const categories = await grpcError(disclose(t.caritas, newcomer.caseRef, [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_AGE_GROUP]));
    expect(categories.code).toBe(status.PERMISSION_DENIED);
    expect(categories.details).toMatch(/^categories: .*not age-group/);
    // For its own purpose, with a referral accepted, the job centre gets what consent and table both allow.
    await t.referredTo(newcomer.caseRef, t.jobCentreId, { purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION });
    const granted = await disclose(t.jobCentre, newcomer.caseRef, [], Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION);
    expect(granted.grantedCategories).toEqual([DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES]);

    const log = await t.query.db.selectFrom('data_access_log').select(['caller_agency_id', 'outcome', 'flow_id', 'legal_basis']).where('case_ref', '=', newcomer.caseRef).orderBy('id').execute();
    expect(log.map((r) => [r.caller_agency_id, r.outcome, r.flow_id])).toEqual([
      [t.jobCentreId, 'denied', null],
      [t.caritasId, 'denied', null],
      [t.jobCentreId, 'granted', 'fo-job-centre-disclose'],
    ]);
  });
});
