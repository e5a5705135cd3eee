import { common } from '@lotse/contracts';

const { ReferralStatus: S } = common;

/** A referral of the case as the office knows it to be with the calling deployment. */
export interface ReferralWithCaller {
  referral_id: string;
  purpose: number;
  status: number;
}

/**
 * Where a caller stands with a case, for a purpose:
 * - `entitled`: a referral for that purpose is with it and accepted or in progress;
 * - `awaiting`: one is routed to it, and its acceptance has not reached the office yet (the
 *   hub's status change follows the provider's answer by a hop; the caller may ask again);
 * - `rerouting`: the referral it names is pending with another deployment. After a decline the
 *   hub re-routes it (same referral, next provider), and its word of that reaches the office a hop
 *   after the ReferralRouted the caller acts on: the caller may ask again, as for `awaiting`;
 * - `none`: nothing for that purpose is with it, or no more (closed, declined, withdrawn,
 *   re-routed to another, accepted by another).
 */
export type Standing = { kind: 'entitled' | 'awaiting' | 'rerouting'; referralId: string } | { kind: 'none' } | { kind: 'unknown'; referralId: string };

const inProgress: readonly number[] = [S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_COUNSELLING_STARTED];

export function standingOf(referrals: readonly ReferralWithCaller[], purpose: number): Standing {
  const forPurpose = referrals.filter((r) => r.purpose === purpose);
  const entitled = forPurpose.find((r) => inProgress.includes(r.status));
  if (entitled) return { kind: 'entitled', referralId: entitled.referral_id };
  const routed = forPurpose.find((r) => r.status === S.REFERRAL_STATUS_PENDING);
  if (routed) return { kind: 'awaiting', referralId: routed.referral_id };
  return { kind: 'none' };
}

/**
 * Where a caller stands with the one referral it names: `unknown` while the office has no word
 * of that referral from the hub yet; `rerouting` while it is pending with another deployment (only
 * a pending referral is re-routed); `none` once another deployment accepted it or it is closed;
 * otherwise as above.
 */
export function standingOfReferral(referral: (ReferralWithCaller & { recipient_agency_id: string }) | undefined, referralId: string, callerId: string, purpose: number): Standing {
  if (!referral) return { kind: 'unknown', referralId };
  if (referral.recipient_agency_id !== callerId) {
    return referral.status === S.REFERRAL_STATUS_PENDING && referral.purpose === purpose ? { kind: 'rerouting', referralId } : { kind: 'none' };
  }
  return standingOf([referral], purpose);
}

/** Whether a referral with the caller is still open: pending, accepted or in progress. */
export function isOpenWith(referral: ReferralWithCaller): boolean {
  return referral.status === S.REFERRAL_STATUS_PENDING || inProgress.includes(referral.status);
}
