import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { common, dataProtection, foreignOffice } from '@lotse/contracts';
import { sql, type Database } from '@lotse/db';
import { fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { connectNats } from '@lotse/messaging';
import type { RunningAgency } from '@lotse/runtime';
import { announceReferralWith, grpcError, natsUrl, randomId, startTestNetwork, waitFor, type TestNetwork } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, type ForeignOfficeDb } from '../src/index.js';

// Integration tier: the foreign office's audit log, DataProtectionService, transparency report
// and retention job, against the real PostgreSQL and NATS, over gRPC with mTLS. The hub named in
// PEERS does not listen: the report has to say so instead of failing.

const { Purpose, DataCategory, ReferralStatus } = common;
const { AuditAction } = dataProtection;

const foId = randomId('fo');
const hubId = randomId('hub');
const providerId = randomId('mbe');
const otherFoId = randomId('fo-other');
const auditorId = randomId('dsb');
const operatorId = randomId('ops');
const jobCentreId = randomId('jc');

let net: TestNetwork;
let query: Database<any>;
let running: RunningAgency<ForeignOfficeDb>;
/** The foreign office's clock: real time shifted by this many milliseconds. */
let clockShiftMs = 0;

let fo: PromiseClient<foreignOffice.ForeignOfficeServiceClient>;
let report: PromiseClient<dataProtection.TransparencyReportServiceClient>;
const dp: Record<string, PromiseClient<dataProtection.DataProtectionServiceClient>> = {};
const foAs: Record<string, PromiseClient<foreignOffice.ForeignOfficeServiceClient>> = {};

function clients(id: string) {
  const address = `127.0.0.1:${running.grpcPort}`;
  return {
    fo: net.client(foreignOffice.ForeignOfficeServiceClient, address, id),
    dp: net.client(dataProtection.DataProtectionServiceClient, address, id),
    report: net.client(dataProtection.TransparencyReportServiceClient, address, id),
  };
}

const caseworker = (id: string) => {
  const m = new Metadata();
  m.set('x-lotse-caseworker', id);
  return { metadata: m };
};

/** The hub tells this office a referral of the case was accepted by the provider; resolves once recorded. */
async function acceptedByProvider(caseRef: string) {
  const nats = await connectNats({ servers: natsUrl, name: `${foId}-hub` });
  try {
    const referralId = await announceReferralWith(nats, { hubId, ownerId: foId, caseRef, providerId });
    await waitFor(async () => (await query.db.selectFrom('referral_recipient').select('status').where('referral_id', '=', referralId).executeTakeFirst()) !== undefined, 'the acceptance at the office');
  } finally {
    await nats.close();
  }
}

async function auditRows(caseRef: string) {
  return query.db.selectFrom('audit_log').selectAll().where('subject_ref', '=', caseRef).orderBy('seq').execute();
}
const auditCount = async () => (await sql<{ n: number }>`select count(*)::int as n from audit_log`.execute(query.db)).rows[0]!.n;

async function register(overrides: Partial<foreignOffice.RegisterNewcomerRequest> = {}, options = caseworker('cw-anna')) {
  const { newcomer } = await fo.registerNewcomer(
    foreignOffice.RegisterNewcomerRequest.fromPartial({
      requestId: `reg-${uuidv7()}`,
      givenNames: 'Amira',
      familyName: 'Haddad',
      birthDate: '1990-05-17',
      nationality: 'SY',
      languages: ['ar', 'en'],
      municipality: 'andernach',
      residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
      ...overrides,
    }),
    options,
  );
  return newcomer!;
}

async function consent(newcomerId: string, overrides: Partial<foreignOffice.RecordConsentRequest> = {}) {
  const { consent } = await fo.recordConsent(
    foreignOffice.RecordConsentRequest.fromPartial({
      requestId: `consent-${uuidv7()}`,
      newcomerId,
      recipients: ['migration-services'],
      purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
      dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      textVersion: 'mbe-einwilligung-2026-01',
      language: 'ar',
      interpreterUsed: true,
      ...overrides,
    }),
    caseworker('cw-anna'),
  );
  return consent!;
}

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'fo-dp',
    members: [
      { id: foId, agencyType: 'foreign-office' },
      { id: otherFoId, agencyType: 'foreign-office' },
      { id: providerId, agencyType: 'migration-services' },
      { id: jobCentreId, agencyType: 'job-centre' },
      { id: auditorId, agencyType: 'auditor' },
      { id: operatorId, agencyType: 'operator' },
    ],
    streams: [hubId],
  });
  const started = await net.agency({
    id: foId,
    database: 'lotse_fo_dp',
    create: (config) =>
      create(
        {
          ...config,
          logLevel: 'silent',
          hubAgencyId: hubId,
          // Nothing listens on port 9: the hub cannot be reached. The provider has no address at all.
          peers: new Map([[hubId, '127.0.0.1:9']]),
          retention: { intervalMs: 0, policyFile: join(import.meta.dirname, '../../../policy/retention.json') },
        },
        { logger: createLogger(foId, { level: process.env.LOG_LEVEL ?? 'silent' }), now: () => new Date(Date.now() + clockShiftMs) },
      ),
  });
  running = started.running;
  query = await net.pool<any>(started.database);
  const own = clients(foId);
  fo = own.fo;
  report = own.report;
  for (const id of [foId, otherFoId, providerId, auditorId, operatorId, jobCentreId]) {
    const c = id === foId ? own : clients(id);
    dp[id] = c.dp;
    foAs[id] = c.fo;
  }
});

afterAll(() => net?.close());

describe('audit trail of the foreign office', () => {
  it('records every access: agency from the certificate, caseworker from the header, categories, purpose, legal basis', async () => {
    const newcomer = await register({ givenNames: 'Leyla', familyName: 'Audit-Probe' });
    await fo.getNewcomer({ newcomerId: newcomer.newcomerId }, caseworker('cw-bernd'));
    const granted = await consent(newcomer.newcomerId);
    await acceptedByProvider(newcomer.caseRef);
    await foAs[providerId]!.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }, caseworker('cw-mbe-7'));
    const refused = await grpcError(foAs[jobCentreId]!.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }));
    expect(refused.code).toBe(status.PERMISSION_DENIED);

    const rows = await auditRows(newcomer.caseRef);
    expect(rows.map((r) => [r.action, r.actor_agency_id, r.actor, r.caseworker_id])).toEqual([
      ['write', foId, 'caseworker', 'cw-anna'],
      ['read', foId, 'caseworker', 'cw-bernd'],
      ['write', foId, 'caseworker', 'cw-anna'],
      ['export', providerId, 'caseworker', 'cw-mbe-7'],
      ['refuse', jobCentreId, 'caseworker', null],
    ]);
    expect(rows[0]).toMatchObject({ categories: [1, 2, 3, 4, 5], purpose: 0, legal_basis: expect.stringMatching(/§ 86 AufenthG/) });
    expect(rows[2]).toMatchObject({ categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES], details: { consent_id: granted.consentId } });
    expect(rows[3]).toMatchObject({
      categories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      legal_basis: `consent:${granted.consentId}`,
    });
    expect(rows[4]).toMatchObject({ legal_basis: '' });
    // The disclosure register keeps its rows as before; the audit log has the same accesses.
    const register_ = await query.db.selectFrom('data_access_log').select(['caller_agency_id', 'outcome']).where('case_ref', '=', newcomer.caseRef).orderBy('id').execute();
    expect(register_).toEqual([
      { caller_agency_id: providerId, outcome: 'granted' },
      { caller_agency_id: jobCentreId, outcome: 'denied' },
    ]);
    // Ids and codes only: no name, no birth date in any entry.
    const text = JSON.stringify(rows);
    for (const personal of ['Leyla', 'Audit-Probe', '1990-05-17']) expect(text).not.toContain(personal);
  });

  it('a referral request exports the routing facts to the hub, on record', async () => {
    const newcomer = await register();
    const c = await consent(newcomer.newcomerId);
    await fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
    const rows = await auditRows(newcomer.caseRef);
    expect(rows.at(-1)).toMatchObject({
      action: 'export',
      // The consent grants the languages: they leave with the routing facts.
      categories: [DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP],
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      legal_basis: `consent:${c.consentId}`,
      details: { event: 'ReferralRequested', recipient_agency_type: 'lotsenhaus' },
    });
  });

  it('refuses a malformed caseworker header with INVALID_ARGUMENT naming it, and writes nothing', async () => {
    const [newcomers, audit] = [(await sql<{ n: number }>`select count(*)::int as n from newcomer`.execute(query.db)).rows[0]!.n, await auditCount()];
    const error = await grpcError(register({}, caseworker('Anna Schmidt, Zimmer 4')));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(error).map((v) => v.field)).toEqual(['x-lotse-caseworker']);
    expect((await sql<{ n: number }>`select count(*)::int as n from newcomer`.execute(query.db)).rows[0]!.n).toBe(newcomers);
    expect(await auditCount()).toBe(audit);
  });
});

describe('DataProtectionService at the foreign office', () => {
  it('verifies the chain for the office itself, auditors and operators — not for other agencies', async () => {
    for (const id of [foId, auditorId, operatorId]) {
      const result = await dp[id]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' });
      expect(result).toMatchObject({ agencyId: foId, ok: true });
      expect(result.rows).toBeGreaterThan(5);
      expect(result.headHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect((await grpcError(dp[providerId]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' }))).code).toBe(status.PERMISSION_DENIED);
    const bad = await grpcError(dp[foId]!.verifyAuditChain({ knownHeadSeq: 3, knownHeadHash: 'not-a-hash' }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(bad).map((v) => v.field)).toEqual(['known_head_hash']);
  });

  it('names the row a superuser altered, and verifies again once it is put back', async () => {
    const newcomer = await register();
    const [target] = await auditRows(newcomer.caseRef);
    const seq = Number(target!.seq);
    const alter = async (categories: string) =>
      query.db.transaction().execute(async (trx) => {
        await sql`alter table audit_log disable trigger user`.execute(trx);
        await sql`update audit_log set categories = ${categories}::int[] where seq = ${seq}`.execute(trx);
        await sql`alter table audit_log enable trigger user`.execute(trx);
      });
    await alter('{1}');
    const broken = await dp[auditorId]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' });
    expect(broken.ok).toBe(false);
    expect(broken.firstBroken).toEqual({ seq, reason: expect.stringMatching(/altered/) });
    expect(broken.rows).toBe(seq - 1);
    await alter('{1,2,3,4,5}');
    expect((await dp[auditorId]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok).toBe(true);
  });

  it('reports what it holds about a case to auditors; another foreign office learns nothing', async () => {
    const newcomer = await register();
    const subject = await dp[auditorId]!.getDataSubjectReport({ caseRef: newcomer.caseRef });
    expect(subject).toMatchObject({ agencyId: foId, agencyType: 'foreign-office', caseRef: newcomer.caseRef });
    expect(subject.holdings).toEqual([
      expect.objectContaining({ record: 'newcomer_register', categories: [1, 2, 3, 4, 5], retentionRule: 'foreign-office.newcomer-register', legalBasis: expect.stringMatching(/AufenthG/) }),
    ]);
    // Closed (no consent, no referral): the retention date is known.
    expect(subject.holdings[0]!.retentionUntil!.getTime()).toBeGreaterThan(Date.now() + 365 * 86_400_000);
    expect(subject.auditEntries.map((e) => e.action)).toEqual([AuditAction.AUDIT_ACTION_WRITE]);
    // The auditor's look is on record too.
    expect((await auditRows(newcomer.caseRef)).at(-1)).toMatchObject({ action: 'read', actor_agency_id: auditorId, legal_basis: 'Art. 15 GDPR' });

    expect((await grpcError(dp[otherFoId]!.getDataSubjectReport({ caseRef: newcomer.caseRef }))).code).toBe(status.PERMISSION_DENIED);
    expect((await grpcError(dp[providerId]!.getDataSubjectReport({ caseRef: newcomer.caseRef }))).code).toBe(status.PERMISSION_DENIED);
    const unknown = await dp[otherFoId]!.getDataSubjectReport({ caseRef: 'C-UNKNOWN' });
    expect(unknown).toMatchObject({ holdings: [], auditEntries: [], erasures: [] });
    const empty = await grpcError(dp[auditorId]!.getDataSubjectReport({ caseRef: ' ' }));
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(empty).map((v) => v.field)).toEqual(['case_ref']);
  });
});

describe('transparency report', () => {
  it('renders in Arabic (right to left), Ukrainian and German, and names the agency it could not reach', async () => {
    const newcomer = await register({ givenNames: 'محمد', familyName: 'الخطيب', languages: ['ar'] });
    await consent(newcomer.newcomerId);
    await fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
    // A disclosure to a provider this office has no address for.
    await acceptedByProvider(newcomer.caseRef);
    await foAs[providerId]!.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' });

    const ar = await report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'ar' }, caseworker('cw-anna'));
    expect(ar).toMatchObject({ newcomerId: newcomer.newcomerId, caseRef: newcomer.caseRef, language: 'ar', direction: 'rtl' });
    expect(ar.html).toMatch(/^<!DOCTYPE html>\n<html lang="ar" dir="rtl">/);
    expect(ar.html).toContain('<h1>معلومات عن بياناتك الشخصية</h1>');
    expect(ar.html).toContain('من اطّلع على بياناتك');
    expect(ar.html).toContain('محمد');
    expect(ar.unreachableAgencyIds.sort()).toEqual([hubId, providerId].sort());
    expect(ar.agencies.map((a) => [a.agencyId, a.reached])).toEqual([
      [foId, true],
      [hubId, false],
      [providerId, false],
    ]);
    expect(ar.agencies.find((a) => a.agencyId === providerId)!.error).toMatch(/no address/);
    expect(ar.agencies.find((a) => a.agencyId === hubId)!.error).toBe('UNAVAILABLE');
    expect(ar.html).toContain('جهات تعذّر الوصول إليها');
    expect(ar.html).toContain(hubId);
    // The office's own part: holdings and every access, the provider's fetch among them.
    const own = ar.agencies[0]!.report!;
    expect(own.holdings.map((h) => h.record)).toEqual(['newcomer_register']);
    expect(own.auditEntries.map((e) => e.action)).toEqual([
      AuditAction.AUDIT_ACTION_WRITE,
      AuditAction.AUDIT_ACTION_WRITE,
      AuditAction.AUDIT_ACTION_EXPORT,
      AuditAction.AUDIT_ACTION_EXPORT,
    ]);

    const uk = await report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'uk' });
    expect(uk.html).toMatch(/<html lang="uk" dir="ltr">/);
    expect(uk.html).toContain('<h1>Інформація про ваші персональні дані</h1>');
    expect(uk.html).toContain('Хто мав доступ до ваших даних');
    expect(uk.html).toContain('Сирія');

    const de = await report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'de' });
    expect(de.html).toMatch(/<html lang="de" dir="ltr">/);
    expect(de.html).toContain('<h1>Auskunft über Ihre personenbezogenen Daten</h1>');
    expect(de.html).toContain('Wer auf Ihre Daten zugegriffen hat');
    // Registered with a self-declared caseworker header and no token: a member of staff, no id.
    expect(de.html).toContain('<td>ein/e Mitarbeiter/in</td>');
    expect(ar.html).toContain('<td>أحد الموظفين</td>');
    for (const html of [ar.html, uk.html, de.html]) expect(html).not.toContain('cw-anna');

    // Compiling the report is itself an access on record (one per report).
    const reads = (await auditRows(newcomer.caseRef)).filter((r) => r.details?.report === 'transparency_report');
    expect(reads.map((r) => [r.caseworker_id, r.details.language])).toEqual([
      ['cw-anna', 'ar'],
      [null, 'uk'],
      [null, 'de'],
    ]);
  });

  it('speaks every language it names, right to left for Farsi and Dari, and picks the newcomer’s by default', async () => {
    const newcomer = await register({ languages: ['fa', 'de'] });
    const expected: [string, string, string][] = [
      ['en', 'en', 'ltr'],
      ['fa', 'fa', 'rtl'],
      ['prs', 'prs', 'rtl'],
      ['fa-AF', 'prs', 'rtl'],
      ['tr', 'tr', 'ltr'],
      ['RU', 'ru', 'ltr'],
      ['', 'fa', 'rtl'],
    ];
    for (const [asked, language, direction] of expected) {
      const r = await report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: asked });
      expect([r.language, r.direction], asked).toEqual([language, direction]);
      expect(r.html).toContain(`<html lang="${language}" dir="${direction}">`);
      expect(r.unreachableAgencyIds).toEqual([]);
    }
  });

  it('bad input: unknown language → INVALID_ARGUMENT naming language; unknown newcomer → NOT_FOUND; nothing written', async () => {
    const newcomer = await register();
    const before = await auditCount();
    const language = await grpcError(report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'xx' }));
    expect(language.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(language).map((v) => v.field)).toEqual(['language']);
    const both = await grpcError(report.getTransparencyReport({ newcomerId: '', language: 'klingon' }));
    expect(fieldViolationsOf(both).map((v) => v.field).sort()).toEqual(['language', 'newcomer_id']);
    const unknown = await grpcError(report.getTransparencyReport({ newcomerId: uuidv7(), language: 'de' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toContain('newcomer_id');
    const foreign = await grpcError(clients(providerId).report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'de' }));
    expect(foreign.code).toBe(status.PERMISSION_DENIED);
    expect(await auditCount()).toBe(before);
  });
});

describe('retention', () => {
  it('deletes closed cases once their period ended, keeps open ones, and audits each deletion', async () => {
    const closed = await register({ givenNames: 'Retention', familyName: 'Closed' });
    const open = await register({ givenNames: 'Retention', familyName: 'Open' });
    await consent(open.newcomerId);
    const expiring = await register({ givenNames: 'Retention', familyName: 'Expiring' });
    await consent(expiring.newcomerId, { expiresAt: new Date(Date.now() + 86_400_000) });
    const referred = await register({ givenNames: 'Retention', familyName: 'Referred' });
    const c = await consent(referred.newcomerId, { expiresAt: new Date(Date.now() + 86_400_000) });
    await fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: referred.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: c.consentId, preferredProviderId: '' });

    expect((await grpcError(dp[providerId]!.runRetention({}))).code).toBe(status.PERMISSION_DENIED);
    // Today nothing has expired.
    expect((await dp[operatorId]!.runRetention({})).deletions).toEqual([{ rule: 'foreign-office.newcomer-register', deleted: 0 }]);

    clockShiftMs = 3 * 365 * 86_400_000;
    try {
      const run = await dp[operatorId]!.runRetention({});
      expect(run.deletions[0]!.deleted).toBeGreaterThanOrEqual(2);
      const remaining = await query.db.selectFrom('newcomer').select('newcomer_id').where('family_name', 'like', 'Closed').execute();
      expect(remaining).toEqual([]);
      const left = (await query.db.selectFrom('newcomer').select('family_name').where('given_names', '=', 'Retention').execute()).map((r) => r.family_name).sort();
      // Open: a consent in force. Referred: its referral is still requested.
      expect(left).toEqual(['Open', 'Referred']);
      expect(await query.db.selectFrom('consent').select('consent_id').where('newcomer_id', '=', expiring.newcomerId).execute()).toEqual([]);
      // The stored first answers that named them are gone too.
      const stored = await sql<{ n: number }>`select count(*)::int as n from idempotency where position(convert_to(${closed.newcomerId}, 'UTF8') in response) > 0`.execute(query.db);
      expect(stored.rows[0]!.n).toBe(0);

      const deletion = (await auditRows(closed.caseRef)).at(-1)!;
      expect(deletion).toMatchObject({ action: 'delete', actor: 'system', actor_agency_id: foId, legal_basis: 'retention: foreign-office.newcomer-register', categories: [1, 2, 3, 4, 5] });
      const subject = await dp[auditorId]!.getDataSubjectReport({ caseRef: closed.caseRef });
      expect(subject.holdings).toEqual([]);
      expect(subject.erasures).toEqual([expect.objectContaining({ status: 'done', reason: 'retention: foreign-office.newcomer-register' })]);
      expect((await dp[foId]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok).toBe(true);
      // A second run finds nothing more.
      expect((await dp[foId]!.runRetention({})).deletions[0]!.deleted).toBe(0);
    } finally {
      clockShiftMs = 0;
    }
    const stillOpen = await fo.listReferrals({ newcomerId: referred.newcomerId, status: 0, pageSize: 0, pageToken: '' });
    expect(stillOpen.referrals.map((r) => r.status)).toEqual([ReferralStatus.REFERRAL_STATUS_REQUESTED]);
  });
});
