// Integration tier: the foreign office's audit log and its DataProtectionService (the audit
// chain, the data subject report), against the real PostgreSQL and NATS, over gRPC with mTLS.
import { status } from '@grpc/grpc-js';
import { common, dataProtection } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { fieldViolationsOf } from '@lotse/grpc';
import { caseworker, grpcError } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataProtectionFixture, type DataProtectionUnderTest } from './support/foreign-office-fixture.js';

const { Purpose, DataCategory } = common;
const { AuditAction } = dataProtection;

let t: DataProtectionUnderTest;
beforeAll(async () => {
  t = await startDataProtectionFixture();
});
afterAll(() => t?.stop());

describe('audit trail of the foreign office', () => {
  it('records every access: agency from the certificate, caseworker from the header, categories, purpose, legal basis', async () => {
    const newcomer = await t.register({ givenNames: 'Leyla', familyName: 'Audit-Probe' });
    await t.fo.getNewcomer({ newcomerId: newcomer.newcomerId }, caseworker('cw-bernd'));
    const granted = await t.consent(newcomer.newcomerId);
    await t.referredTo(newcomer.caseRef, t.caritasId);
    await t.caritas.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }, caseworker('cw-mbe-7'));
    const refused = await grpcError(t.jobCentre.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }));
    expect(refused.code).toBe(status.PERMISSION_DENIED);

    const rows = await t.auditRows(newcomer.caseRef);
    expect(rows.map((r) => [r.action, r.actor_agency_id, r.actor, r.caseworker_id])).toEqual([
      ['write', t.foId, 'caseworker', 'cw-anna'],
      ['read', t.foId, 'caseworker', 'cw-bernd'],
      ['write', t.foId, 'caseworker', 'cw-anna'],
      ['export', t.caritasId, 'caseworker', 'cw-mbe-7'],
      ['refuse', t.jobCentreId, 'caseworker', null],
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
    const register_ = await t.db.selectFrom('data_access_log').select(['caller_agency_id', 'outcome']).where('case_ref', '=', newcomer.caseRef).orderBy('id').execute();
    expect(register_).toEqual([
      { caller_agency_id: t.caritasId, outcome: 'granted' },
      { caller_agency_id: t.jobCentreId, outcome: 'denied' },
    ]);
    // Ids and codes only: no name, no birth date in any entry.
    const text = JSON.stringify(rows);
    for (const personal of ['Leyla', 'Audit-Probe', '1990-05-17']) expect(text).not.toContain(personal);
  });

  it('a referral request exports the routing facts to the hub, on record', async () => {
    const newcomer = await t.register();
    const c = await t.consent(newcomer.newcomerId);
    await t.fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
    const rows = await t.auditRows(newcomer.caseRef);
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
    const [newcomers, audit] = [(await sql<{ n: number }>`select count(*)::int as n from newcomer`.execute(t.db)).rows[0]!.n, await t.auditCount()];
    const error = await grpcError(t.register({}, caseworker('Anna Schmidt, Zimmer 4')));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(error).map((v) => v.field)).toEqual(['x-lotse-caseworker']);
    expect((await sql<{ n: number }>`select count(*)::int as n from newcomer`.execute(t.db)).rows[0]!.n).toBe(newcomers);
    expect(await t.auditCount()).toBe(audit);
  });
});

describe('DataProtectionService at the foreign office', () => {
  it('verifies the chain for the office itself, auditors and operators — not for other agencies', async () => {
    for (const id of [t.foId, t.auditorId, t.operatorId]) {
      const result = await t.dp[id]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' });
      expect(result).toMatchObject({ agencyId: t.foId, ok: true });
      expect(result.rows).toBeGreaterThan(5);
      expect(result.headHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect((await grpcError(t.dp[t.caritasId]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' }))).code).toBe(status.PERMISSION_DENIED);
    const bad = await grpcError(t.dp[t.foId]!.verifyAuditChain({ knownHeadSeq: 3, knownHeadHash: 'not-a-hash' }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(bad).map((v) => v.field)).toEqual(['known_head_hash']);
  });

  it('names the row a superuser altered, and verifies again once it is put back', async () => {
    const newcomer = await t.register();
    const [target] = await t.auditRows(newcomer.caseRef);
    const seq = Number(target!.seq);
    const alter = async (categories: string) =>
      t.db.transaction().execute(async (trx) => {
        await sql`alter table audit_log disable trigger user`.execute(trx);
        await sql`update audit_log set categories = ${categories}::int[] where seq = ${seq}`.execute(trx);
        await sql`alter table audit_log enable trigger user`.execute(trx);
      });
    await alter('{1}');
    const broken = await t.dp[t.auditorId]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' });
    expect(broken.ok).toBe(false);
    expect(broken.firstBroken).toEqual({ seq, reason: expect.stringMatching(/altered/) });
    expect(broken.rows).toBe(seq - 1);
    await alter('{1,2,3,4,5}');
    expect((await t.dp[t.auditorId]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok).toBe(true);
  });

  it('reports what it holds about a case to auditors; another foreign office learns nothing', async () => {
    const newcomer = await t.register();
    const subject = await t.dp[t.auditorId]!.getDataSubjectReport({ caseRef: newcomer.caseRef });
    expect(subject).toMatchObject({ agencyId: t.foId, agencyType: 'foreign-office', caseRef: newcomer.caseRef });
    expect(subject.holdings).toEqual([
      expect.objectContaining({ record: 'newcomer_register', categories: [1, 2, 3, 4, 5], retentionRule: 'foreign-office.newcomer-register', legalBasis: expect.stringMatching(/AufenthG/) }),
    ]);
    // Closed (no consent, no referral): the retention date is known.
    expect(subject.holdings[0]!.retentionUntil!.getTime()).toBeGreaterThan(Date.now() + 365 * 86_400_000);
    expect(subject.auditEntries.map((e) => e.action)).toEqual([AuditAction.AUDIT_ACTION_WRITE]);
    // The auditor's look is on record too.
    expect((await t.auditRows(newcomer.caseRef)).at(-1)).toMatchObject({ action: 'read', actor_agency_id: t.auditorId, legal_basis: 'Art. 15 GDPR' });

    expect((await grpcError(t.dp[t.otherFoId]!.getDataSubjectReport({ caseRef: newcomer.caseRef }))).code).toBe(status.PERMISSION_DENIED);
    expect((await grpcError(t.dp[t.caritasId]!.getDataSubjectReport({ caseRef: newcomer.caseRef }))).code).toBe(status.PERMISSION_DENIED);
    const unknown = await t.dp[t.otherFoId]!.getDataSubjectReport({ caseRef: 'C-UNKNOWN' });
    expect(unknown).toMatchObject({ holdings: [], auditEntries: [], erasures: [] });
    const empty = await grpcError(t.dp[t.auditorId]!.getDataSubjectReport({ caseRef: ' ' }));
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(empty).map((v) => v.field)).toEqual(['case_ref']);
  });
});
