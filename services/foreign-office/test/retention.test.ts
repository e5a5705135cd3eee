// Integration tier: the foreign office's retention job deletes closed cases once their period
// ended, on the office's own clock moved three years on; real PostgreSQL and NATS, gRPC with mTLS.
import { status } from '@grpc/grpc-js';
import { common } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { grpcError } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataProtectionFixture, type DataProtectionUnderTest } from './support/foreign-office-fixture.js';

const { Purpose, ReferralStatus } = common;

/** The foreign office's clock: real time shifted by this many milliseconds. */
let clockShiftMs = 0;
let t: DataProtectionUnderTest;
beforeAll(async () => {
  t = await startDataProtectionFixture({ now: () => new Date(Date.now() + clockShiftMs) });
});
afterAll(() => t?.stop());

describe('retention', () => {
  it('deletes closed cases once their period ended, keeps open ones, and audits each deletion', async () => {
    const closed = await t.register({ givenNames: 'Retention', familyName: 'Closed' });
    const open = await t.register({ givenNames: 'Retention', familyName: 'Open' });
    await t.consent(open.newcomerId);
    const expiring = await t.register({ givenNames: 'Retention', familyName: 'Expiring' });
    await t.consent(expiring.newcomerId, { expiresAt: new Date(Date.now() + 86_400_000) });
    const referred = await t.register({ givenNames: 'Retention', familyName: 'Referred' });
    const c = await t.consent(referred.newcomerId, { expiresAt: new Date(Date.now() + 86_400_000) });
    await t.fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: referred.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: c.consentId, preferredProviderId: '' });

    expect((await grpcError(t.dp[t.caritasId]!.runRetention({}))).code).toBe(status.PERMISSION_DENIED);
    // Today nothing has expired.
    expect((await t.dp[t.operatorId]!.runRetention({})).deletions).toEqual([{ rule: 'foreign-office.newcomer-register', deleted: 0 }]);

    clockShiftMs = 3 * 365 * 86_400_000;
    try {
      const run = await t.dp[t.operatorId]!.runRetention({});
      expect(run.deletions[0]!.deleted).toBeGreaterThanOrEqual(2);
      const remaining = await t.db.selectFrom('newcomer').select('newcomer_id').where('family_name', 'like', 'Closed').execute();
      expect(remaining).toEqual([]);
      const left = (await t.db.selectFrom('newcomer').select('family_name').where('given_names', '=', 'Retention').execute()).map((r) => r.family_name).sort();
      // Open: a consent in force. Referred: its referral is still requested.
      expect(left).toEqual(['Open', 'Referred']);
      expect(await t.db.selectFrom('consent').select('consent_id').where('newcomer_id', '=', expiring.newcomerId).execute()).toEqual([]);
      // The stored first answers that named them are gone too.
      const stored = await sql<{ n: number }>`select count(*)::int as n from idempotency where position(convert_to(${closed.newcomerId}, 'UTF8') in response) > 0`.execute(t.db);
      expect(stored.rows[0]!.n).toBe(0);

      const deletion = (await t.auditRows(closed.caseRef)).at(-1)!;
      expect(deletion).toMatchObject({ action: 'delete', actor: 'system', actor_agency_id: t.foId, legal_basis: 'retention: foreign-office.newcomer-register', categories: [1, 2, 3, 4, 5] });
      const subject = await t.dp[t.auditorId]!.getDataSubjectReport({ caseRef: closed.caseRef });
      expect(subject.holdings).toEqual([]);
      expect(subject.erasures).toEqual([expect.objectContaining({ status: 'done', reason: 'retention: foreign-office.newcomer-register' })]);
      expect((await t.dp[t.foId]!.verifyAuditChain({ knownHeadSeq: 0, knownHeadHash: '' })).ok).toBe(true);
      // A second run finds nothing more.
      expect((await t.dp[t.foId]!.runRetention({})).deletions[0]!.deleted).toBe(0);
    } finally {
      clockShiftMs = 0;
    }
    const stillOpen = await t.fo.listReferrals({ newcomerId: referred.newcomerId, status: 0, pageSize: 0, pageToken: '' });
    expect(stillOpen.referrals.map((r) => r.status)).toEqual([ReferralStatus.REFERRAL_STATUS_REQUESTED]);
  });
});
