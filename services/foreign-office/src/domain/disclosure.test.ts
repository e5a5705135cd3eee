import { common } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { isOpenWith, standingOf, standingOfReferral } from './disclosure.js';

const { ReferralStatus: S, Purpose: P } = common;
const r = (status: number, purpose: number = P.PURPOSE_MIGRATION_COUNSELLING, referral_id = 'R-1') => ({ referral_id, purpose, status });

describe('standingOf: what a deployment may be told about a case', () => {
  it('entitles the deployment an accepted or counselling referral for the purpose is with', () => {
    expect(standingOf([r(S.REFERRAL_STATUS_ACCEPTED)], P.PURPOSE_MIGRATION_COUNSELLING)).toEqual({ kind: 'entitled', referralId: 'R-1' });
    expect(standingOf([r(S.REFERRAL_STATUS_COUNSELLING_STARTED)], P.PURPOSE_MIGRATION_COUNSELLING).kind).toBe('entitled');
  });

  it('has it wait while the referral is routed to it but its acceptance is not known yet', () => {
    expect(standingOf([r(S.REFERRAL_STATUS_PENDING)], P.PURPOSE_MIGRATION_COUNSELLING)).toEqual({ kind: 'awaiting', referralId: 'R-1' });
  });

  it('entitles nobody for another purpose, nor after the referral was closed, declined or withdrawn', () => {
    expect(standingOf([r(S.REFERRAL_STATUS_ACCEPTED)], P.PURPOSE_LABOUR_MARKET_INTEGRATION).kind).toBe('none');
    for (const closed of [S.REFERRAL_STATUS_DECLINED, S.REFERRAL_STATUS_WITHDRAWN, S.REFERRAL_STATUS_COMPLETED, S.REFERRAL_STATUS_UNROUTABLE, S.REFERRAL_STATUS_REQUESTED]) {
      expect(standingOf([r(closed)], P.PURPOSE_MIGRATION_COUNSELLING).kind).toBe('none');
    }
    expect(standingOf([], P.PURPOSE_MIGRATION_COUNSELLING).kind).toBe('none');
  });

  it('prefers an entitling referral over a pending one of the same case', () => {
    expect(standingOf([r(S.REFERRAL_STATUS_PENDING, undefined, 'R-2'), r(S.REFERRAL_STATUS_ACCEPTED)], P.PURPOSE_MIGRATION_COUNSELLING)).toEqual({ kind: 'entitled', referralId: 'R-1' });
  });

  it('counts a referral as open with its recipient while pending, accepted or in counselling', () => {
    expect([S.REFERRAL_STATUS_PENDING, S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_COUNSELLING_STARTED].map((s) => isOpenWith(r(s)))).toEqual([true, true, true]);
    expect([S.REFERRAL_STATUS_DECLINED, S.REFERRAL_STATUS_COMPLETED, S.REFERRAL_STATUS_WITHDRAWN].map((s) => isOpenWith(r(s)))).toEqual([false, false, false]);
  });

  it('for a named referral: unknown until the hub said where it is, none when it is with another deployment', () => {
    expect(standingOfReferral(undefined, 'R-9', 'mbe', P.PURPOSE_MIGRATION_COUNSELLING)).toEqual({ kind: 'unknown', referralId: 'R-9' });
    expect(standingOfReferral({ ...r(S.REFERRAL_STATUS_ACCEPTED), recipient_agency_id: 'other' }, 'R-1', 'mbe', P.PURPOSE_MIGRATION_COUNSELLING)).toEqual({ kind: 'none' });
    expect(standingOfReferral({ ...r(S.REFERRAL_STATUS_ACCEPTED), recipient_agency_id: 'mbe' }, 'R-1', 'mbe', P.PURPOSE_MIGRATION_COUNSELLING)).toEqual({ kind: 'entitled', referralId: 'R-1' });
  });

  it('for a named referral still pending with another deployment: rerouting (the hub may have re-routed it to the caller), not none', () => {
    const elsewhere = (status: number, purpose: number = P.PURPOSE_MIGRATION_COUNSELLING) => ({ ...r(status, purpose), recipient_agency_id: 'declined-it' });
    expect(standingOfReferral(elsewhere(S.REFERRAL_STATUS_PENDING), 'R-1', 'mbe', P.PURPOSE_MIGRATION_COUNSELLING)).toEqual({ kind: 'rerouting', referralId: 'R-1' });
    // Accepted or closed elsewhere, or for another purpose: refused for good.
    for (const status of [S.REFERRAL_STATUS_COUNSELLING_STARTED, S.REFERRAL_STATUS_COMPLETED, S.REFERRAL_STATUS_WITHDRAWN, S.REFERRAL_STATUS_UNROUTABLE]) {
      expect(standingOfReferral(elsewhere(status), 'R-1', 'mbe', P.PURPOSE_MIGRATION_COUNSELLING)).toEqual({ kind: 'none' });
    }
    expect(standingOfReferral(elsewhere(S.REFERRAL_STATUS_PENDING, P.PURPOSE_LABOUR_MARKET_INTEGRATION), 'R-1', 'mbe', P.PURPOSE_MIGRATION_COUNSELLING)).toEqual({ kind: 'none' });
  });
});
