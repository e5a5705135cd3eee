import type { RetentionRule } from '@lotse/audit';
import { receivedHoldings } from '@lotse/referrals';

/** What a provider tells the DataProtectionService about its tables: copies received, referrals with their routing fact. */
export function providerHoldings(rule: RetentionRule) {
  return receivedHoldings('received_referral', rule);
}
