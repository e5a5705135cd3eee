import { describe, expect, it } from 'vitest';
import { defaultReceiptFollowUp, eventTypesSent, receiptFollowUpConfig } from './receipt-follow-up.js';

describe('the receipt follow-up', () => {
  it('asks for what the flow table lets a provider or a job centre send the hub, and nothing the hub sends', () => {
    expect(eventTypesSent('migration-services', 'lotsenhaus')).toEqual(expect.arrayContaining(['ReferralReceived', 'ReferralAccepted', 'ReferralDeclined', 'FirstContactRecorded', 'ReferralCompleted']));
    expect(eventTypesSent('job-centre', 'lotsenhaus')).toEqual(expect.arrayContaining(['CustomerRegistered', 'LanguageCourseFundingDecided', 'CooperationPlanAgreed', 'PlacementRecorded', 'JobCentreCaseClosed']));
    expect(eventTypesSent('job-centre', 'lotsenhaus')).not.toContain('ReferralRouted');
    expect(eventTypesSent('operator', 'lotsenhaus')).toEqual([]);
  });

  it('reads RECEIPT_FOLLOW_UP_* with defaults: every 15 s, after 60 s, 5 sends', () => {
    expect(receiptFollowUpConfig({})).toEqual({ intervalMs: 15_000, afterMs: 60_000, maxAttempts: 5 });
    expect(defaultReceiptFollowUp).toMatchObject({ batch: 100 });
    expect(receiptFollowUpConfig({ RECEIPT_FOLLOW_UP_INTERVAL_MS: '0', RECEIPT_FOLLOW_UP_AFTER_MS: '300', RECEIPT_FOLLOW_UP_ATTEMPTS: '2' })).toEqual({ intervalMs: 0, afterMs: 300, maxAttempts: 2 });
    expect(() => receiptFollowUpConfig({ RECEIPT_FOLLOW_UP_ATTEMPTS: '0' })).toThrow(/RECEIPT_FOLLOW_UP_ATTEMPTS/);
  });
});
