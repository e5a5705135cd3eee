import * as common from './gen/lotse/common/v1/common.js';

const { ReferralStatus: S } = common;

// Written by hand (not generated): the one ordering rule of the ReferralStatus contract that
// every agency applies the same way. Status updates arrive as events and may be redelivered or overtaken; a referral only moves
// forward, so a late "pending" never overwrites an "accepted".
const rank: Record<number, number> = {
  [S.REFERRAL_STATUS_REQUESTED]: 1,
  [S.REFERRAL_STATUS_PENDING]: 2,
  [S.REFERRAL_STATUS_ACCEPTED]: 3,
  [S.REFERRAL_STATUS_DECLINED]: 3,
  [S.REFERRAL_STATUS_UNROUTABLE]: 3,
  [S.REFERRAL_STATUS_COUNSELLING_STARTED]: 4,
  [S.REFERRAL_STATUS_WITHDRAWN]: 5,
  [S.REFERRAL_STATUS_COMPLETED]: 5,
};

// A declined, unroutable or withdrawn referral is closed: nothing reported later reopens it.
const closed = new Set<number>([S.REFERRAL_STATUS_DECLINED, S.REFERRAL_STATUS_UNROUTABLE, S.REFERRAL_STATUS_WITHDRAWN, S.REFERRAL_STATUS_COMPLETED]);

export function isAdvance(current: common.ReferralStatus, next: common.ReferralStatus): boolean {
  if (closed.has(current)) return false;
  return (rank[next] ?? 0) > (rank[current] ?? 0);
}
