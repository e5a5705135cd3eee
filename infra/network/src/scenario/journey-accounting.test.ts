import { common } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { accountFor } from './journey-accounting.js';
import type { JourneyRecord } from './journey-record.js';

const S = common.ReferralStatus;
const timeline = (status: common.ReferralStatus, events: string[]) =>
  ({ caseSummary: { status }, entries: events.map((eventType) => ({ eventType })) }) as unknown as Parameters<typeof accountFor>[1];
const counselled = ['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', 'NewcomerDataReceived', 'FirstContactRecorded'];
const record = (over: Partial<JourneyRecord>): JourneyRecord =>
  ({ state: 'done', providers: [], decisionLatenciesMs: [], skipped: [], expectation: { outcome: 'counselling started', statuses: [S.REFERRAL_STATUS_COUNSELLING_STARTED], events: counselled }, ...over }) as JourneyRecord;

describe('accountFor', () => {
  it('accounts a journey whose case stands at the hub as expected', () => {
    expect(accountFor(record({}), timeline(S.REFERRAL_STATUS_COUNSELLING_STARTED, counselled))).toEqual({ ok: true });
  });

  it('names the missing steps when the hub lacks some', () => {
    const verdict = accountFor(record({}), timeline(S.REFERRAL_STATUS_COUNSELLING_STARTED, counselled.slice(0, 4)));
    expect(verdict.ok).toBe(false);
    expect(verdict.why).toContain('timeline lacks NewcomerDataReceived, FirstContactRecorded');
  });

  it('says that the scenario gave up on a journey, with its error, instead of comparing its last expectation', () => {
    const verdict = accountFor(
      record({ state: 'failed', error: '8 RESOURCE_EXHAUSTED: 32 write calls are in flight here already' }),
      timeline(S.REFERRAL_STATUS_ACCEPTED, [...counselled, 'ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted']),
    );
    expect(verdict).toEqual({ ok: false, why: 'the scenario gave up on it (8 RESOURCE_EXHAUSTED: 32 write calls are in flight here already); the hub has it REFERRAL_STATUS_ACCEPTED' });
  });
});
