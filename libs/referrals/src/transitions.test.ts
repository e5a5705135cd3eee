import { common, jobCentre, migrationServices } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { inboxActionProblem, takesReportedStatus, withdrawalProblem, type InboxStatuses } from './transitions.js';

const { InboxStatus: S } = migrationServices;
const { ReferralStatus: R } = common;

const statuses: InboxStatuses = {
  pending: S.INBOX_STATUS_PENDING,
  accepted: S.INBOX_STATUS_ACCEPTED,
  declined: S.INBOX_STATUS_DECLINED,
  withdrawn: S.INBOX_STATUS_WITHDRAWN,
  completed: S.INBOX_STATUS_COMPLETED,
  name: migrationServices.inboxStatusToJSON,
};
const all = [S.INBOX_STATUS_PENDING, S.INBOX_STATUS_ACCEPTED, S.INBOX_STATUS_DECLINED, S.INBOX_STATUS_WITHDRAWN, S.INBOX_STATUS_COMPLETED];
const allowed = (action: Parameters<typeof inboxActionProblem>[3]) => all.filter((s) => inboxActionProblem(statuses, 'r-1', s, action) === undefined);

describe('inbox transitions', () => {
  it('decides only a pending referral, completes only an accepted one, refers on from an accepted or completed one', () => {
    expect(allowed('accept')).toEqual([S.INBOX_STATUS_PENDING]);
    expect(allowed('decline')).toEqual([S.INBOX_STATUS_PENDING]);
    expect(allowed('complete')).toEqual([S.INBOX_STATUS_ACCEPTED]);
    expect(allowed('refer on')).toEqual([S.INBOX_STATUS_ACCEPTED, S.INBOX_STATUS_COMPLETED]);
  });

  it("names the referral and its status in the service's own enum", () => {
    expect(inboxActionProblem(statuses, 'r-1', S.INBOX_STATUS_DECLINED, 'accept')).toBe('referral r-1 is INBOX_STATUS_DECLINED, only a pending referral can be accepted');
    expect(inboxActionProblem(statuses, 'r-1', S.INBOX_STATUS_PENDING, 'complete')).toBe('referral r-1 is INBOX_STATUS_PENDING; only an accepted referral can be completed');
    const intake = { ...statuses, name: jobCentre.intakeStatusToJSON };
    expect(inboxActionProblem(intake, 'r-2', S.INBOX_STATUS_WITHDRAWN, 'refer on')).toBe('referral r-2 is INTAKE_STATUS_WITHDRAWN; only an accepted case can be referred on');
  });
});

describe('outgoing referrals', () => {
  it('may be withdrawn by the referrer while requested, pending or accepted, not once closed or counselling started', () => {
    for (const open of [R.REFERRAL_STATUS_REQUESTED, R.REFERRAL_STATUS_PENDING, R.REFERRAL_STATUS_ACCEPTED]) expect(withdrawalProblem('r', open)).toBeUndefined();
    for (const closed of [R.REFERRAL_STATUS_DECLINED, R.REFERRAL_STATUS_UNROUTABLE, R.REFERRAL_STATUS_WITHDRAWN, R.REFERRAL_STATUS_COMPLETED, R.REFERRAL_STATUS_COUNSELLING_STARTED]) {
      expect(withdrawalProblem('r', closed)).toMatch(/^referral r is REFERRAL_STATUS_\w+; it can no longer be withdrawn$/);
    }
  });

  it('take a status the hub reports only forward, or pending again after a re-route to another provider', () => {
    const at = (status: common.ReferralStatus, providerId: string | null = 'p-1') => ({ status, providerId });
    expect(takesReportedStatus(at(R.REFERRAL_STATUS_REQUESTED, null), at(R.REFERRAL_STATUS_PENDING))).toBe(true);
    expect(takesReportedStatus(at(R.REFERRAL_STATUS_PENDING), at(R.REFERRAL_STATUS_PENDING, 'p-2'))).toBe(true);
    expect(takesReportedStatus(at(R.REFERRAL_STATUS_ACCEPTED), at(R.REFERRAL_STATUS_PENDING, 'p-2'))).toBe(false);
    expect(takesReportedStatus(at(R.REFERRAL_STATUS_ACCEPTED), at(R.REFERRAL_STATUS_ACCEPTED))).toBe(false);
    expect(takesReportedStatus(at(R.REFERRAL_STATUS_WITHDRAWN), at(R.REFERRAL_STATUS_COMPLETED))).toBe(false);
  });

  it('keep a pending referral where it is when the hub reports it pending with the same provider or none', () => {
    expect(takesReportedStatus({ status: R.REFERRAL_STATUS_PENDING, providerId: 'p-1' }, { status: R.REFERRAL_STATUS_PENDING, providerId: 'p-1' })).toBe(false);
    expect(takesReportedStatus({ status: R.REFERRAL_STATUS_PENDING, providerId: 'p-1' }, { status: R.REFERRAL_STATUS_PENDING, providerId: '' })).toBe(false);
    expect(takesReportedStatus({ status: R.REFERRAL_STATUS_PENDING, providerId: null }, { status: R.REFERRAL_STATUS_PENDING, providerId: 'p-1' })).toBe(true);
  });
});
