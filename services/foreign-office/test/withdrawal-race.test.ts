// No personal data leaves after a withdrawal has committed: withdrawals raced against
// disclosures and referral requests, many times, on the real (pooled, so truly concurrent)
// PostgreSQL. The withdrawal takes a position in the access log's sequence while it holds the
// consent row; every granted disclosure under that consent must have a smaller id, and every
// referral made under it must have existed when the withdrawal closed the open ones. Without the
// row lock (FOR SHARE in the disclosure and referral paths) this test fails.
import { status, type ServiceError } from '@grpc/grpc-js';
import { common } from '@lotse/contracts';
import { sleep } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

const { Purpose, ReferralStatus } = common;
const iterations = 50;

let t: ForeignOfficeUnderTest;
beforeAll(async () => {
  t = await startForeignOfficeFixture({ poolSize: 12 });
});
afterAll(async () => {
  await t?.stop();
});

const jitter = (max: number) => sleep(Math.floor(Math.random() * max));

async function outcome<T>(call: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: number }> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, code: (error as ServiceError).code };
  }
}

describe('withdrawal raced against disclosures and referrals', () => {
  it(`lets nothing out after the withdrawal commits (${iterations} races)`, async () => {
    let mixedDisclosures = 0;
    let mixedReferrals = 0;
    let granted = 0;
    let refused = 0;
    let withdrawalMs = 10;
    for (let i = 0; i < iterations; i++) {
      const newcomer = await t.register();
      const consent = await t.consent(newcomer.newcomerId);
      await t.referredTo(newcomer.caseRef, t.caritasId);
      // Six disclosures spread over about twice the time a withdrawal takes (measured as we go),
      // the withdrawal at a random point among them: however fast or slow the machine, some land
      // on each side of its commit.
      const spread = Math.max(4, withdrawalMs) * 2;
      const disclosures = Array.from({ length: 6 }, (_, k) =>
        sleep((k * spread) / 5).then(() => outcome(() => t.caritas.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }))),
      );
      const referrals = Array.from({ length: 2 }, () =>
        jitter(spread).then(() =>
          outcome(() => t.fo.requestReferral({ requestId: `race-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' })),
        ),
      );
      const withdrawal = jitter(spread / 2).then(async () => {
        const began = performance.now();
        await t.fo.withdrawConsent({ requestId: `race-wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: '' });
        withdrawalMs = performance.now() - began;
      });
      const [disclosed, referred] = await Promise.all([Promise.all(disclosures), Promise.all(referrals), withdrawal]);

      // Every call either got through or was refused for want of a legal basis.
      for (const o of [...disclosed, ...referred]) if (!o.ok) expect(o.code).toBe(status.PERMISSION_DENIED);

      const marker = await t.query.db.selectFrom('consent_withdrawal').selectAll().where('consent_id', '=', consent.consentId).executeTakeFirstOrThrow();
      const log = await t.query.db.selectFrom('data_access_log').select(['id', 'outcome']).where('case_ref', '=', newcomer.caseRef).orderBy('id').execute();
      const grantedRows = log.filter((r) => r.outcome === 'granted');
      // The decisive check: no granted disclosure is ordered after the withdrawal.
      expect(grantedRows.filter((r) => r.id > marker.access_log_position), `race ${i}: disclosures granted after the withdrawal committed`).toEqual([]);
      expect(grantedRows).toHaveLength(disclosed.filter((o) => o.ok).length);
      // The hub is told about every recipient that got data.
      expect(marker.recipients_known).toEqual(grantedRows.length ? [t.caritasId] : []);

      // Every referral under the consent existed when the withdrawal closed the open ones.
      const rows = await t.query.db.selectFrom('referral').select(['referral_id', 'status']).where('consent_id', '=', consent.consentId).execute();
      expect(rows.filter((r) => r.status !== ReferralStatus.REFERRAL_STATUS_WITHDRAWN), `race ${i}: referrals made after the withdrawal`).toEqual([]);
      expect(rows.map((r) => r.referral_id).sort()).toEqual(referred.flatMap((o) => (o.ok ? [o.value.referral!.referralId] : [])).sort());

      const ok = disclosed.filter((o) => o.ok).length;
      granted += ok;
      refused += disclosed.length - ok;
      if (ok > 0 && ok < disclosed.length) mixedDisclosures++;
      const referredOk = referred.filter((o) => o.ok).length;
      if (referredOk > 0 && referredOk < referred.length) mixedReferrals++;
    }
    // The races were real: in some, calls landed on both sides of the withdrawal.
    expect(mixedDisclosures, `granted ${granted}, refused ${refused}; mixed referrals ${mixedReferrals}`).toBeGreaterThan(iterations / 5);
  }, 120_000);
});
