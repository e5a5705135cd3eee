import { common } from '@lotse/contracts';
import { isInForce, type ConsentTerms } from '../domain/consent.js';

const { ReferralStatus } = common;

/** Referrals still under way: the newcomer is being referred, so the register entry is needed. */
export const OPEN_REFERRAL_STATUSES: readonly number[] = [
  ReferralStatus.REFERRAL_STATUS_REQUESTED,
  ReferralStatus.REFERRAL_STATUS_PENDING,
  ReferralStatus.REFERRAL_STATUS_ACCEPTED,
];

export interface CaseClosure {
  /** No referral still open and no consent in force. */
  closed: boolean;
  /** The retention period of a closed case counts from here. */
  lastActivity: Date;
}

/**
 * Whether a newcomer's case is closed for retention (policy/retention.json,
 * foreign-office.newcomer-register), and since when nothing happened on it: registration, a
 * consent granted, withdrawn or expired, a referral's last change.
 */
export function caseClosure(
  registeredAt: Date,
  consents: readonly ConsentTerms[],
  referrals: readonly { status: number; updated_at: Date }[],
  now: Date,
): CaseClosure {
  const moments = [
    registeredAt,
    ...consents.flatMap((c) => [c.grantedAt, c.withdrawnAt, c.expiresAt && c.expiresAt <= now ? c.expiresAt : null]),
    ...referrals.map((r) => r.updated_at),
  ].filter((d): d is Date => d instanceof Date);
  const lastActivity = new Date(Math.max(...moments.map((d) => d.getTime())));
  const closed = !referrals.some((r) => OPEN_REFERRAL_STATUSES.includes(r.status)) && !consents.some((c) => isInForce(c, now));
  return { closed, lastActivity };
}
