import { common, isReferralStatusAdvance } from '@lotse/contracts';

const { ReferralStatus } = common;

/**
 * The statuses of a referral in a service's inbox, in the service's own enum (migration services:
 * InboxStatus, job centre: IntakeStatus), and how to name one in an error message.
 */
export interface InboxStatuses {
  pending: number;
  accepted: number;
  declined: number;
  withdrawn: number;
  completed: number;
  name(status: number): string;
}

export type InboxAction = 'accept' | 'decline' | 'complete' | 'refer on';

/**
 * Why a referral in the inbox does not allow the action, or undefined when it does: only a
 * pending referral is decided, only an accepted one completed, and a case is referred on from an
 * accepted or completed referral.
 */
export function inboxActionProblem(statuses: InboxStatuses, referralId: string, status: number, action: InboxAction): string | undefined {
  const is = statuses.name(status);
  switch (action) {
    case 'accept':
    case 'decline':
      return status === statuses.pending ? undefined : `referral ${referralId} is ${is}, only a pending referral can be ${action === 'accept' ? 'accepted' : 'declined'}`;
    case 'complete':
      return status === statuses.accepted ? undefined : `referral ${referralId} is ${is}; only an accepted referral can be completed`;
    case 'refer on':
      return status === statuses.accepted || status === statuses.completed ? undefined : `referral ${referralId} is ${is}; only an accepted case can be referred on`;
  }
}

/** Statuses of an own referral that the referrer may still withdraw. */
const withdrawable: readonly number[] = [ReferralStatus.REFERRAL_STATUS_REQUESTED, ReferralStatus.REFERRAL_STATUS_PENDING, ReferralStatus.REFERRAL_STATUS_ACCEPTED];

/** Why the referrer can no longer withdraw its referral, or undefined when it can. */
export function withdrawalProblem(referralId: string, status: common.ReferralStatus): string | undefined {
  return withdrawable.includes(status) ? undefined : `referral ${referralId} is ${common.referralStatusToJSON(status)}; it can no longer be withdrawn`;
}

/** Where a referral stands and with which agency: as kept by its referrer, or as the hub reports it. */
export interface ReferralStanding {
  status: common.ReferralStatus;
  /** The agency the referral is with; '' or null when none (yet). */
  providerId: string | null;
}

/**
 * The re-route rule, for every referrer (the foreign office and those that refer on): whether a
 * status the hub reports replaces the one kept. A referral only moves forward (reports are
 * redelivered and overtaken), except that a pending referral the hub re-routed after a decline
 * is reported pending again, with another provider. The same provider (a redelivery, or the
 * hub's follow-up of its routing) or none changes nothing.
 */
export function takesReportedStatus(kept: ReferralStanding, reported: ReferralStanding): boolean {
  const rerouted =
    reported.status === ReferralStatus.REFERRAL_STATUS_PENDING &&
    kept.status === reported.status &&
    (reported.providerId ?? '') !== '' &&
    reported.providerId !== (kept.providerId ?? '');
  return rerouted || isReferralStatusAdvance(kept.status, reported.status);
}
