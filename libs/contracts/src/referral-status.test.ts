import { describe, expect, it } from 'vitest';
import * as common from './gen/lotse/common/v1/common.js';
import { isAdvance } from './referral-status.js';

const { ReferralStatus: S } = common;

describe('referral status', () => {
  it('moves forward only', () => {
    expect(isAdvance(S.REFERRAL_STATUS_REQUESTED, S.REFERRAL_STATUS_PENDING)).toBe(true);
    expect(isAdvance(S.REFERRAL_STATUS_PENDING, S.REFERRAL_STATUS_ACCEPTED)).toBe(true);
    expect(isAdvance(S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_PENDING)).toBe(false);
    expect(isAdvance(S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_ACCEPTED)).toBe(false);
    expect(isAdvance(S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_COUNSELLING_STARTED)).toBe(true);
  });
  it('keeps a declined or unroutable referral closed', () => {
    expect(isAdvance(S.REFERRAL_STATUS_DECLINED, S.REFERRAL_STATUS_COUNSELLING_STARTED)).toBe(false);
    expect(isAdvance(S.REFERRAL_STATUS_UNROUTABLE, S.REFERRAL_STATUS_ACCEPTED)).toBe(false);
    expect(isAdvance(S.REFERRAL_STATUS_WITHDRAWN, S.REFERRAL_STATUS_ACCEPTED)).toBe(false);
    expect(isAdvance(S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_WITHDRAWN)).toBe(true);
  });
});
