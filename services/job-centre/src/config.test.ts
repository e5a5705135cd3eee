import { describe, expect, it } from 'vitest';
import { toConfig } from './config.js';

describe('the job centre config', () => {
  it('asks the hub for receipts only when HUB_ADDRESS is set, with RECEIPT_FOLLOW_UP_* or the defaults', () => {
    const base = { JOB_CENTRE_ID: 'jc-test', DATABASE_URL: 'postgres://x@127.0.0.1/x' };
    expect(toConfig(base)).toMatchObject({ hubAddress: undefined, receiptFollowUp: { intervalMs: 15_000, afterMs: 60_000, maxAttempts: 5 } });
    expect(toConfig({ ...base, HUB_ADDRESS: '127.0.0.1:50081', RECEIPT_FOLLOW_UP_AFTER_MS: '120000' })).toMatchObject({ hubAddress: '127.0.0.1:50081', receiptFollowUp: { afterMs: 120_000 } });
  });
});
