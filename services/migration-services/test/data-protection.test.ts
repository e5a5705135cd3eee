import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { common, dataProtection, foreignOffice, lotsenhaus, migrationServices as ms } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { berlinDate, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import type { NatsClients } from '@lotse/messaging';
import { caseworker, grpcError, randomId, startTestNetwork, waitFor, type TestNetwork } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create as createForeignOffice } from '@lotse/foreign-office';
import { create as createHub } from '@lotse/lotsenhaus';
import { create as createProvider } from '../src/index.js';

// Integration tier across three agencies — foreign office, hub and a provider, each with its own
// PostgreSQL database, NATS JetStream between them, gRPC with mTLS: every agency audits its
// accesses in its own chain, serves its part of the transparency report, and deletes what its
// retention period ended for (clocks moved forward per agency).

const { Purpose, DataCategory, ReferralStatus, ContactChannel } = common;
const { AuditAction } = dataProtection;

const foId = randomId('fo');
const hubId = randomId('hub');
const providerId = randomId('mbe');
const otherFoId = randomId('fo-other');
const auditorId = randomId('dsb');
const logLevel = process.env.LOG_LEVEL ?? 'silent';
const policyFile = join(import.meta.dirname, '../../../policy/retention.json');

let net: TestNetwork;
const shift: Record<string, number> = {};
const clockOf = (id: string) => () => new Date(Date.now() + (shift[id] ?? 0));
const ports: Record<string, number> = {};
const dbs: Record<string, any> = {};
let nats: NatsClients;

function client<C>(Ctor: any, at: string, as: string): PromiseClient<C & import('@grpc/grpc-js').Client> {
  return net.client(Ctor, `127.0.0.1:${ports[at]}`, as) as any;
}

let fo: PromiseClient<foreignOffice.ForeignOfficeServiceClient>;
let provider: PromiseClient<ms.MigrationServicesServiceClient>;
let hubClient: PromiseClient<lotsenhaus.LotsenhausServiceClient>;
let report: PromiseClient<dataProtection.TransparencyReportServiceClient>;
const dp = (at: string, as: string) => client<dataProtection.DataProtectionServiceClient>(dataProtection.DataProtectionServiceClient, at, as);

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'dp-journey',
    members: [
      { id: foId, agencyType: 'foreign-office' },
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: providerId, agencyType: 'migration-services' },
      { id: otherFoId, agencyType: 'foreign-office' },
      { id: auditorId, agencyType: 'auditor' },
    ],
  });
  nats = net.nats;
  const directoryFile = join(net.dir, 'directory.json');
  writeFileSync(
    directoryFile,
    JSON.stringify({
      region: 'Test region',
      municipalities: [{ code: 'andernach', name: 'Stadt Andernach' }],
      referrers: [{ agencyId: foId, name: 'Test-Ausländerbehörde', agencyType: 'foreign-office' }],
      providers: [{ providerId, name: 'Test MBE', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult', 'youth'], municipalities: ['andernach'] }] }],
    }),
  );
  const base = { logLevel: 'silent' as const, hubAgencyId: hubId, retention: { intervalMs: 0, policyFile } };
  const overrides = (id: string) => ({ logger: createLogger(id, { level: logLevel }), now: clockOf(id) });

  const { running: hubRunning } = await net.agency({ id: hubId, database: 'lotse_dp_hub', create: (config) => createHub({ ...config, ...base, directoryFile }, overrides(hubId)) });
  ports[hubId] = hubRunning.grpcPort;
  dbs[hubId] = hubRunning.ctx.db;
  // The foreign office needs the provider's address and the provider the office's: start the
  // office on a fixed free port first is not possible, so the office learns the provider's later
  // through the shared map.
  const foPeers = new Map<string, string>([[hubId, `127.0.0.1:${hubRunning.grpcPort}`]]);
  const { running: foRunning } = await net.agency({ id: foId, database: 'lotse_dp_fo', create: (config) => createForeignOffice({ ...config, ...base, peers: foPeers }, overrides(foId)) });
  ports[foId] = foRunning.grpcPort;
  dbs[foId] = foRunning.ctx.db;
  const { running: providerRunning } = await net.agency({
    id: providerId,
    database: 'lotse_dp_mbe',
    create: (config) => createProvider({ ...config, ...base, peers: new Map([[foId, `127.0.0.1:${foRunning.grpcPort}`]]) }, overrides(providerId)),
  });
  ports[providerId] = providerRunning.grpcPort;
  dbs[providerId] = providerRunning.ctx.db;
  foPeers.set(providerId, `127.0.0.1:${providerRunning.grpcPort}`);

  fo = client(foreignOffice.ForeignOfficeServiceClient, foId, foId);
  provider = client(ms.MigrationServicesServiceClient, providerId, providerId);
  hubClient = client(lotsenhaus.LotsenhausServiceClient, hubId, foId);
  report = client(dataProtection.TransparencyReportServiceClient, foId, foId);
});

afterAll(() => net?.close());

/** A newcomer registered with consent, referred, routed by the hub, accepted and fetched by the provider. */
async function journey(names: { givenNames: string; familyName: string }) {
  const { newcomer } = await fo.registerNewcomer(
    {
      requestId: `reg-${uuidv7()}`,
      ...names,
      birthDate: '1988-02-03',
      nationality: 'UA',
      languages: ['uk', 'ru'],
      municipality: 'andernach',
      residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_TEMPORARY_PROTECTION,
    },
    caseworker('cw-fo-1'),
  );
  const { consent } = await fo.recordConsent(
    {
      requestId: `consent-${uuidv7()}`,
      newcomerId: newcomer!.newcomerId,
      recipients: ['migration-services'],
      purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
      dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      expiresAt: undefined,
      textVersion: 'mbe-einwilligung-2026-01',
      language: 'uk',
      interpreterUsed: false,
    },
    caseworker('cw-fo-1'),
  );
  await fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer!.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
  const inbox = await waitFor(async () => {
    const { referrals } = await provider.listReferrals({ status: 0, pageSize: 0, pageToken: '' });
    return referrals.find((r) => r.caseRef === newcomer!.caseRef);
  }, 'the routed referral in the provider inbox', 20_000);
  await provider.acceptReferral({ requestId: `acc-${uuidv7()}`, referralId: inbox.referralId }, caseworker('cw-mbe-1'));
  await provider.fetchNewcomerData({ requestId: `fetch-${uuidv7()}`, referralId: inbox.referralId }, caseworker('cw-mbe-1'));
  await provider.getReferral({ referralId: inbox.referralId }, caseworker('cw-mbe-2'));
  return { newcomer: newcomer!, consent: consent!, referralId: inbox.referralId };
}

const actions = (r: dataProtection.GetDataSubjectReportResponse) => r.auditEntries.map((e) => [dataProtection.auditActionToJSON(e.action), e.actorAgencyId, e.caseworkerId]);

describe('data protection across the foreign office, the hub and a provider', () => {
  let first: Awaited<ReturnType<typeof journey>>;

  it('every agency audits its part of a referral, and the transparency report collects it in Ukrainian', async () => {
    first = await journey({ givenNames: 'Олена', familyName: 'Коваленко' });
    const { newcomer, consent } = first;

    const uk = await report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'uk' }, caseworker('cw-fo-2'));
    expect(uk.unreachableAgencyIds).toEqual([]);
    expect(uk.agencies.map((a) => [a.agencyId, a.reached])).toEqual([
      [foId, true],
      [hubId, true],
      [providerId, true],
    ]);
    const [own, hub, mbe] = uk.agencies.map((a) => a.report!);

    expect(actions(own!)).toEqual([
      ['AUDIT_ACTION_WRITE', foId, 'cw-fo-1'],
      ['AUDIT_ACTION_WRITE', foId, 'cw-fo-1'],
      ['AUDIT_ACTION_EXPORT', foId, ''],
      // The provider's caseworker travels with the fetch to the owner.
      ['AUDIT_ACTION_EXPORT', providerId, 'cw-mbe-1'],
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
    expect(actions(hub!)).toEqual([['AUDIT_ACTION_READ', hubId, '']]);
    expect(hub!.auditEntries[0]).toMatchObject({ actor: 'system', details: { routed_to: providerId, owner_agency_id: foId } });

    expect(mbe!.holdings.map((h) => [h.record, h.categories, h.legalBasis, h.sourceAgencyId])).toEqual([
      ['received_data', [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES], `consent:${consent.consentId}`, foId],
      ['referral', [DataCategory.DATA_CATEGORY_AGE_GROUP], `consent:${consent.consentId}`, foId],
    ]);
    expect(mbe!.holdings[0]!.retentionUntil!.getUTCFullYear()).toBe(new Date().getUTCFullYear() + 3);
    expect(actions(mbe!)).toEqual([
      ['AUDIT_ACTION_FETCH', providerId, 'cw-mbe-1'],
      ['AUDIT_ACTION_READ', providerId, 'cw-mbe-2'],
    ]);

    expect(uk.html).toContain('<html lang="uk" dir="ltr">');
    expect(uk.html).toContain('<h1>Інформація про ваші персональні дані</h1>');
    expect(uk.html).toContain('Олена');
    for (const id of [foId, hubId, providerId]) expect(uk.html).toContain(id);
    // The newcomer learns which agency and which role saw the data, never who by staff id (the
    // audit entries above keep the ids, for the staff and the data-protection officer).
    expect(uk.html).toContain('<td>працівник установи</td>');
    for (const id of ['cw-fo-1', 'cw-mbe-1', 'cw-mbe-2']) expect(uk.html).not.toContain(id);
    // Each agency put the foreign office's request for its part on record, with the caseworker.
    const asked = await dbs[providerId].selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).orderBy('seq').execute();
    expect(asked.at(-1)).toMatchObject({ action: 'read', actor_agency_id: foId, caseworker_id: 'cw-fo-2', legal_basis: 'Art. 15 GDPR' });
  });

  it('answers a data-subject report only to the owning foreign office, auditors and the agency itself', async () => {
    const { caseRef } = first.newcomer;
    for (const at of [hubId, providerId]) {
      expect((await dp(at, foId).getDataSubjectReport({ caseRef })).holdings.length).toBeGreaterThan(0);
      expect((await dp(at, auditorId).getDataSubjectReport({ caseRef })).caseRef).toBe(caseRef);
      expect((await dp(at, at).getDataSubjectReport({ caseRef })).agencyId).toBe(at);
      expect((await grpcError(dp(at, otherFoId).getDataSubjectReport({ caseRef }))).code).toBe(status.PERMISSION_DENIED);
    }
    // The hub may not ask a provider about a case it routed.
    expect((await grpcError(dp(providerId, hubId).getDataSubjectReport({ caseRef }))).code).toBe(status.PERMISSION_DENIED);
  });

  it("every agency's chain verifies, and a row altered at the provider is named", async () => {
    for (const id of [foId, hubId, providerId]) {
      const result = await dp(id, id).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' });
      expect(result, id).toMatchObject({ agencyId: id, ok: true });
    }
    const fetchRow = await dbs[providerId]
      .selectFrom('audit_log')
      .select(['seq', 'purpose'])
      .where('subject_ref', '=', first.newcomer.caseRef)
      .where('action', '=', 'fetch')
      .executeTakeFirstOrThrow();
    const setPurpose = (purpose: number) =>
      dbs[providerId].transaction().execute(async (trx: any) => {
        await sql`alter table audit_log disable trigger user`.execute(trx);
        await sql`update audit_log set purpose = ${purpose} where seq = ${fetchRow.seq}`.execute(trx);
        await sql`alter table audit_log enable trigger user`.execute(trx);
      });
    await setPurpose(Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION);
    const broken = await dp(providerId, auditorId).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' });
    expect(broken).toMatchObject({ ok: false, firstBroken: { seq: Number(fetchRow.seq) } });
    await setPurpose(fetchRow.purpose);
    expect((await dp(providerId, auditorId).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok).toBe(true);
  });

  it('a withdrawal: the provider audits its erasure, and the report shows every recipient\'s erasure as the hub tracks it', async () => {
    const { newcomer, consent } = await journey({ givenNames: 'Taras', familyName: 'Withdrawal' });
    await fo.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: '' }, caseworker('cw-fo-1'));
    const erased = await waitFor(async () => {
      const rows = await dbs[providerId].selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).where('action', '=', 'erase').execute();
      return rows.length ? rows : undefined;
    }, 'the provider to erase', 15_000);
    expect(erased[0]).toMatchObject({
      actor: 'system',
      legal_basis: `Art. 17(1)(b) GDPR: consent:${consent.consentId} withdrawn`,
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_AGE_GROUP],
      details: { consent_id: consent.consentId, owner_agency_id: foId },
    });
    const confirmed = await waitFor(async () => {
      const r = await report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'ar' });
      const tracked = r.agencies.find((a) => a.agencyId === hubId)!.report!.erasures.filter((e) => e.recipientAgencyId === providerId);
      return tracked.length && tracked.every((e) => e.status === 'done') ? r : undefined;
    }, 'the hub to record the provider\'s confirmation', 15_000);
    const mbe = confirmed.agencies.find((a) => a.agencyId === providerId)!.report!;
    expect(mbe.holdings.filter((h) => h.record === 'received_data')).toEqual([]);
    expect(mbe.erasures.map((e) => [e.status, e.reason])).toContainEqual(['done', `Art. 17(1)(b) GDPR: consent:${consent.consentId} withdrawn`]);
    expect(confirmed.html).toContain('عمليات الحذف');
    const hubErase = await dbs[hubId].selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).where('action', '=', 'erase').execute();
    expect(hubErase.map((r: any) => [r.actor_agency_id, r.categories])).toEqual([[hubId, [DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP]]]);
    for (const id of [foId, hubId, providerId]) expect((await dp(id, id).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok, id).toBe(true);
  });

  it('retention: the provider deletes the copy after its period, the hub a closed case; both audited', async () => {
    const { newcomer, referralId } = await journey({ givenNames: 'Mariia', familyName: 'Retention' });
    // Counselling started: the hub's part of the case is done.
    await provider.recordFirstContact({ requestId: `fc-${uuidv7()}`, referralId, contactDate: berlinDate(new Date()), channel: ContactChannel.CONTACT_CHANNEL_IN_PERSON, interpreterUsed: false });
    await waitFor(async () => (await hubClient.getCaseTimeline({ caseRef: newcomer.caseRef })).caseSummary?.status === ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED, 'the hub to see counselling start', 15_000);

    shift[providerId] = 4 * 365 * 86_400_000;
    shift[hubId] = 2 * 365 * 86_400_000;
    try {
      const mbeRun = await dp(providerId, providerId).runRetention({});
      expect(mbeRun.deletions[0]).toMatchObject({ rule: 'migration-services.received-data' });
      expect(mbeRun.deletions[0]!.deleted).toBeGreaterThanOrEqual(2);
      expect(await dbs[providerId].selectFrom('newcomer_record').selectAll().where('case_ref', '=', newcomer.caseRef).execute()).toEqual([]);
      const referral = await dbs[providerId].selectFrom('received_referral').select('age_group').where('referral_id', '=', referralId).executeTakeFirstOrThrow();
      expect(referral.age_group).toBe(0);
      const stored = await sql<{ n: number }>`select count(*)::int as n from idempotency where method = 'FetchNewcomerData'`.execute(dbs[providerId]);
      expect(stored.rows[0]!.n).toBe(0);

      const hubRun = await dp(hubId, hubId).runRetention({});
      expect(hubRun.deletions[0]).toMatchObject({ rule: 'lotsenhaus.routing-facts' });
      expect(hubRun.deletions[0]!.deleted).toBeGreaterThanOrEqual(1);
      expect((await grpcError(hubClient.getCaseTimeline({ caseRef: newcomer.caseRef }))).code).toBe(status.NOT_FOUND);
      // The first journey's case is still open at the hub (accepted, no first contact): kept.
      expect((await hubClient.getCaseTimeline({ caseRef: first.newcomer.caseRef })).caseSummary?.caseRef).toBe(first.newcomer.caseRef);
    } finally {
      shift[providerId] = 0;
      shift[hubId] = 0;
    }

    const de = await report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'de' });
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
    expect(actions(mbe!).filter(([a]) => a === 'AUDIT_ACTION_DELETE').map(([, agency]) => agency)).toEqual([providerId, providerId]);
    expect(de.html).toContain('Speicherfrist abgelaufen');
    for (const id of [foId, hubId, providerId]) expect((await dp(id, id).verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok, id).toBe(true);
  });
});
