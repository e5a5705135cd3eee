import { retentionConfig, type RetentionConfig } from '@lotse/audit';
import { addressMap, agencyId, integer, type Env } from '@lotse/config';
import { agencyConfig, type AgencyConfig } from '@lotse/runtime';
import { defaultFollowUp, type ReferralFollowUpOptions } from './events/referral-follow-up.js';

export interface ForeignOfficeConfig extends AgencyConfig {
  /** The hub whose status updates this foreign office follows. */
  hubAgencyId: string;
  /** gRPC addresses of the network's agencies (PEERS), asked for their part of a transparency report. */
  peers?: Map<string, string>;
  /** RETENTION_INTERVAL_MS, RETENTION_POLICY_FILE; defaults when absent. */
  retention?: RetentionConfig;
  /** REFERRAL_FOLLOW_UP_INTERVAL_MS, _AFTER_MS, _ATTEMPTS: sending again what the hub never answered. */
  referralFollowUp?: ReferralFollowUpOptions;
}

export function toConfig(env: Env): ForeignOfficeConfig {
  return {
    ...agencyConfig(env, { agencyType: 'foreign-office', defaultId: 'kv-mayen-koblenz', defaultPort: 50051 }),
    hubAgencyId: agencyId(env, 'HUB_AGENCY_ID', 'lotsenhaus'),
    peers: addressMap(env, 'PEERS'),
    retention: retentionConfig(env),
    referralFollowUp: {
      intervalMs: integer(env, 'REFERRAL_FOLLOW_UP_INTERVAL_MS', defaultFollowUp.intervalMs, { min: 0 }),
      afterMs: integer(env, 'REFERRAL_FOLLOW_UP_AFTER_MS', defaultFollowUp.afterMs, { min: 0 }),
      maxAttempts: integer(env, 'REFERRAL_FOLLOW_UP_ATTEMPTS', defaultFollowUp.maxAttempts, { min: 1, max: 100 }),
    },
  };
}
