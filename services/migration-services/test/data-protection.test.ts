// Integration tier across three agencies — foreign office, hub and a provider, each with its own
// PostgreSQL database, NATS JetStream between them, gRPC with mTLS: every agency audits its
// accesses in its own chain, serves its part of the transparency report, and deletes what its
// retention period ended for (clocks moved forward per agency).
import { status } from '@grpc/grpc-js';
import { common } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { berlinDate } from '@lotse/grpc';
import { caseworker, grpcError, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions, startDataProtectionFixture, type DataProtectionUnderTest } from './support/migration-services-fixture.js';

const { Purpose, DataCategory, ReferralStatus, ContactChannel } = common;

let agencies: DataProtectionUnderTest;
beforeAll(async () => {
  agencies = await startDataProtectionFixture();
});
afterAll(() => agencies?.stop());

describe('data protection across the foreign office, the hub and a provider', () => {
  let first: Awaited<ReturnType<typeof agencies.journey>>;

  it('every agency audits its part of a referral, and the transparency report collects it in Ukrainian', async () => {
    first = await agencies.journey({ givenNames: 'Олена', familyName: 'Коваленко' });
    const { newcomer, consent } = first;

    const uk = await agencies.report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'uk' }, caseworker('cw-fo-2'));
    expect(uk.unreachableAgencyIds).toEqual([]);
    expect(uk.agencies.map((a) => [a.agencyId, a.reached])).toEqual([
      [agencies.foId, true],
      [agencies.hubId, true],
      [agencies.providerId, true],
    ]);
    const [own, hub, mbe] = uk.agencies.map((a) => a.report!);

    expect(actions(own!)).toEqual([
      ['AUDIT_ACTION_WRITE', agencies.foId, 'cw-fo-1'],
      ['AUDIT_ACTION_WRITE', agencies.foId, 'cw-fo-1'],
      ['AUDIT_ACTION_EXPORT', agencies.foId, ''],
      // The provider's caseworker travels with the fetch to the owner.
      ['AUDIT_ACTION_EXPORT', agencies.providerId, 'cw-mbe-1'],
    ]);

    expect(hub!.holdings).toEqual([
      expect.objectContaining({
        record: 'routing_facts',
        categories: [DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP],
        legalBasis: `consent:${consent.consentId}`,
        retentionRule: 'lotsenhaus.routing-facts',
      }),
    ]);
    // Pending at the provider: the case is open, so no retention date yet.
    expect(hub!.holdings[0]!.retentionUntil).toBeUndefined();
    expect(actions(hub!)).toEqual([['AUDIT_ACTION_READ', agencies.hubId, '']]);
    expect(hub!.auditEntries[0]).toMatchObject({ actor: 'system', details: { routed_to: agencies.providerId, owner_agency_id: agencies.foId } });

    expect(mbe!.holdings.map((h) => [h.record, h.categories, h.legalBasis, h.sourceAgencyId])).toEqual([
      ['received_data', [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES], `consent:${consent.consentId}`, agencies.foId],
      ['referral', [DataCategory.DATA_CATEGORY_AGE_GROUP], `consent:${consent.consentId}`, agencies.foId],
    ]);
    expect(mbe!.holdings[0]!.retentionUntil!.getUTCFullYear()).toBe(new Date().getUTCFullYear() + 3);
    expect(actions(mbe!)).toEqual([
      ['AUDIT_ACTION_FETCH', agencies.providerId, 'cw-mbe-1'],
      ['AUDIT_ACTION_READ', agencies.providerId, 'cw-mbe-2'],
    ]);

    expect(uk.html).toContain('<html lang="uk" dir="ltr">');
    expect(uk.html).toContain('<h1>Інформація про ваші персональні дані</h1>');
    expect(uk.html).toContain('Олена');
    for (const id of [agencies.foId, agencies.hubId, agencies.providerId]) expect(uk.html).toContain(id);
    // The newcomer learns which agency and which role saw the data, never who by staff id (the
    // audit entries above keep the ids, for the staff and the data-protection officer).
    expect(uk.html).toContain('<td>працівник установи</td>');
    for (const id of ['cw-fo-1', 'cw-mbe-1', 'cw-mbe-2']) expect(uk.html).not.toContain(id);
    // Each agency put the foreign office's request for its part on record, with the caseworker.
    const asked = await agencies.dbs[agencies.providerId].selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).orderBy('seq').execute();
    expect(asked.at(-1)).toMatchObject({ action: 'read', actor_agency_id: agencies.foId, caseworker_id: 'cw-fo-2', legal_basis: 'Art. 15 GDPR' });
  });

  it('answers a data-subject report only to the owning foreign office, auditors and the agency itself', async () => {
    const { caseRef } = first.newcomer;
    for (const at of [agencies.hubId, agencies.providerId]) {
      expect((await agencies.dp(at, agencies.foId).getDataSubjectReport({ caseRef })).holdings.length).toBeGreaterThan(0);
      expect((await agencies.dp(at, agencies.auditorId).getDataSubjectReport({ caseRef })).caseRef).toBe(caseRef);
      expect((await agencies.dp(at, at).getDataSubjectReport({ caseRef })).agencyId).toBe(at);
      expect((await grpcError(agencies.dp(at, agencies.otherFoId).getDataSubjectReport({ caseRef }))).code).toBe(status.PERMISSION_DENIED);
    }
    // The hub may not ask a provider about a case it routed.
    expect((await grpcError(agencies.dp(agencies.providerId, agencies.hubId).getDataSubjectReport({ caseRef }))).code).toBe(status.PERMISSION_DENIED);
  });

  it("every agency's chain verifies, and a row altered at the provider is named", async () => {
    for (const id of [agencies.foId, agencies.hubId, agencies.providerId]) {
      const result = await agencies.dp(id, id).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' });
      expect(result, id).toMatchObject({ agencyId: id, ok: true });
    }
    const fetchRow = await agencies.dbs[agencies.providerId]
      .selectFrom('audit_log')
      .select(['seq', 'purpose'])
      .where('subject_ref', '=', first.newcomer.caseRef)
      .where('action', '=', 'fetch')
      .executeTakeFirstOrThrow();
    const setPurpose = (purpose: number) =>
      agencies.dbs[agencies.providerId].transaction().execute(async (trx: any) => {
        await sql`alter table audit_log disable trigger user`.execute(trx);
        await sql`update audit_log set purpose = ${purpose} where seq = ${fetchRow.seq}`.execute(trx);
        await sql`alter table audit_log enable trigger user`.execute(trx);
      });
    await setPurpose(Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION);
    const broken = await agencies.dp(agencies.providerId, agencies.auditorId).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' });
    expect(broken).toMatchObject({ ok: false, firstBroken: { seq: Number(fetchRow.seq) } });
    await setPurpose(fetchRow.purpose);
    expect((await agencies.dp(agencies.providerId, agencies.auditorId).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok).toBe(true);
  });

  it('a withdrawal: the provider audits its erasure, and the report shows every recipient\'s erasure as the hub tracks it', async () => {
    const { newcomer, consent } = await agencies.journey({ givenNames: 'Taras', familyName: 'Withdrawal' });
    await agencies.fo.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: '' }, caseworker('cw-fo-1'));
    const erased = await waitFor(async () => {
      const rows = await agencies.dbs[agencies.providerId].selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).where('action', '=', 'erase').execute();
      return rows.length ? rows : undefined;
    }, 'the provider to erase', 15_000);
    expect(erased[0]).toMatchObject({
      actor: 'system',
      legal_basis: `Art. 17(1)(b) GDPR: consent:${consent.consentId} withdrawn`,
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_AGE_GROUP],
      details: { consent_id: consent.consentId, owner_agency_id: agencies.foId },
    });
    const confirmed = await waitFor(async () => {
      const r = await agencies.report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'ar' });
      const tracked = r.agencies.find((a) => a.agencyId === agencies.hubId)!.report!.erasures.filter((e) => e.recipientAgencyId === agencies.providerId);
      return tracked.length && tracked.every((e) => e.status === 'done') ? r : undefined;
    }, 'the hub to record the provider\'s confirmation', 15_000);
    const mbe = confirmed.agencies.find((a) => a.agencyId === agencies.providerId)!.report!;
    expect(mbe.holdings.filter((h) => h.record === 'received_data')).toEqual([]);
    expect(mbe.erasures.map((e) => [e.status, e.reason])).toContainEqual(['done', `Art. 17(1)(b) GDPR: consent:${consent.consentId} withdrawn`]);
    expect(confirmed.html).toContain('عمليات الحذف');
    const hubErase = await agencies.dbs[agencies.hubId].selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).where('action', '=', 'erase').execute();
    expect(hubErase.map((r: any) => [r.actor_agency_id, r.categories])).toEqual([[agencies.hubId, [DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP]]]);
    for (const id of [agencies.foId, agencies.hubId, agencies.providerId]) expect((await agencies.dp(id, id).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok, id).toBe(true);
  });

  it('retention: the provider deletes the copy after its period, the hub a closed case; both audited', async () => {
    const { newcomer, referralId } = await agencies.journey({ givenNames: 'Mariia', familyName: 'Retention' });
    // Counselling started: the hub's part of the case is done.
    await agencies.provider.recordFirstContact({ requestId: `fc-${uuidv7()}`, referralId, contactDate: berlinDate(new Date()), channel: ContactChannel.CONTACT_CHANNEL_IN_PERSON, interpreterUsed: false });
    await waitFor(async () => (await agencies.hubClient.getCaseTimeline({ caseRef: newcomer.caseRef })).caseSummary?.status === ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED, 'the hub to see counselling start', 15_000);

    agencies.shift[agencies.providerId] = 4 * 365 * 86_400_000;
    agencies.shift[agencies.hubId] = 2 * 365 * 86_400_000;
    try {
      const mbeRun = await agencies.dp(agencies.providerId, agencies.providerId).runRetention({});
      expect(mbeRun.deletions[0]).toMatchObject({ rule: 'migration-services.received-data' });
      expect(mbeRun.deletions[0]!.deleted).toBeGreaterThanOrEqual(2);
      expect(await agencies.dbs[agencies.providerId].selectFrom('newcomer_record').selectAll().where('case_ref', '=', newcomer.caseRef).execute()).toEqual([]);
      const referral = await agencies.dbs[agencies.providerId].selectFrom('received_referral').select('age_group').where('referral_id', '=', referralId).executeTakeFirstOrThrow();
      expect(referral.age_group).toBe(0);
      const stored = await sql<{ n: number }>`select count(*)::int as n from idempotency where method = 'FetchNewcomerData'`.execute(agencies.dbs[agencies.providerId]);
      expect(stored.rows[0]!.n).toBe(0);

      const hubRun = await agencies.dp(agencies.hubId, agencies.hubId).runRetention({});
      expect(hubRun.deletions[0]).toMatchObject({ rule: 'lotsenhaus.routing-facts' });
      expect(hubRun.deletions[0]!.deleted).toBeGreaterThanOrEqual(1);
      expect((await grpcError(agencies.hubClient.getCaseTimeline({ caseRef: newcomer.caseRef }))).code).toBe(status.NOT_FOUND);
      // The first journey's case is still open at the hub (accepted, no first contact): kept.
      expect((await agencies.hubClient.getCaseTimeline({ caseRef: first.newcomer.caseRef })).caseSummary?.caseRef).toBe(first.newcomer.caseRef);
    } finally {
      agencies.shift[agencies.providerId] = 0;
      agencies.shift[agencies.hubId] = 0;
    }

    const de = await agencies.report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'de' });
    const [, hub, mbe] = de.agencies.map((a) => a.report!);
    expect(mbe!.holdings).toEqual([]);
    expect(hub!.holdings).toEqual([]);
    expect(mbe!.erasures.map((e) => [e.status, e.reason])).toEqual([
      ['done', 'retention: migration-services.received-data'],
      ['done', 'retention: migration-services.received-data'],
    ]);
    expect(hub!.erasures.map((e) => [e.status, e.reason, e.categories])).toEqual([
      ['done', 'retention: lotsenhaus.routing-facts', [DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP]],
    ]);
    expect(actions(mbe!).filter(([a]) => a === 'AUDIT_ACTION_DELETE').map(([, agency]) => agency)).toEqual([agencies.providerId, agencies.providerId]);
    expect(de.html).toContain('Speicherfrist abgelaufen');
    for (const id of [agencies.foId, agencies.hubId, agencies.providerId]) expect((await agencies.dp(id, id).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok, id).toBe(true);
  });
});
