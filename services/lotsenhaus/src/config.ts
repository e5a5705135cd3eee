import { fileURLToPath } from 'node:url';
import { retentionConfig, type RetentionConfig } from '@lotse/audit';
import { integer, optionalString, type Env } from '@lotse/config';
import { agencyConfig, type AgencyConfig } from '@lotse/runtime';

import { defaultPartnerDirectoryConfig, defaultDirectorySeedFile, type PartnerDirectoryConfig } from './directory/index.js';
import { defaultRoutingFollowUp, type RoutingFollowUpOptions } from './events/routing-follow-up.js';

export interface LotsenhausConfig extends AgencyConfig {
  /** Cooperation agreements and partner directory (JSON); the Koblenz region by default. */
  directoryFile: string;
  /** RETENTION_INTERVAL_MS, RETENTION_POLICY_FILE; defaults when absent. */
  retention?: RetentionConfig;
  /**
   * A pending referral not answered in time escalates: REFERRAL_EXPIRY working days (default 5);
   * REFERRAL_EXPIRY_MS overrides it with milliseconds (tests, demos). Checked every
   * REFERRAL_EXPIRY_CHECK_MS (default 60 s).
   */
  referralExpiry?: { workingDays: number; overrideMs?: number; checkIntervalMs: number };
  /** ROUTING_FOLLOW_UP_INTERVAL_MS, _AFTER_MS, _ATTEMPTS: sending again routings no recipient confirmed. */
  routingFollowUp?: RoutingFollowUpOptions;
  /** The partner directory (src/directory/): DIRECTORY_SEED_FILE, DIRECTORY_STALE_MONTHS, DIRECTORY_REMINDER_INTERVAL_MS. */
  partnerDirectory?: PartnerDirectoryConfig;
  /** STATISTICS_MIN_COUNT: the smallest count the needs-assessment statistics publish (default 3). */
  statisticsMinCount?: number;
}

export const defaultDirectoryFile = fileURLToPath(new URL('./directory/koblenz-region.json', import.meta.url));

export function toConfig(env: Env): LotsenhausConfig {
  return {
    ...agencyConfig(env, { agencyType: 'lotsenhaus', defaultId: 'lotsenhaus', defaultPort: 50052 }),
    directoryFile: optionalString(env, 'DIRECTORY_FILE', defaultDirectoryFile)!,
    retention: retentionConfig(env),
    referralExpiry: {
      workingDays: integer(env, 'REFERRAL_EXPIRY', 5, { min: 1, max: 60 }),
      overrideMs: optionalString(env, 'REFERRAL_EXPIRY_MS') ? integer(env, 'REFERRAL_EXPIRY_MS', 0, { min: 1 }) : undefined,
      checkIntervalMs: integer(env, 'REFERRAL_EXPIRY_CHECK_MS', 60_000, { min: 50 }),
    },
    routingFollowUp: {
      intervalMs: integer(env, 'ROUTING_FOLLOW_UP_INTERVAL_MS', defaultRoutingFollowUp.intervalMs, { min: 0 }),
      afterMs: integer(env, 'ROUTING_FOLLOW_UP_AFTER_MS', defaultRoutingFollowUp.afterMs, { min: 0 }),
      maxAttempts: integer(env, 'ROUTING_FOLLOW_UP_ATTEMPTS', defaultRoutingFollowUp.maxAttempts, { min: 1, max: 100 }),
    },
    statisticsMinCount: integer(env, 'STATISTICS_MIN_COUNT', 3, { min: 2, max: 1000 }),
    partnerDirectory: {
      // "none": start with an empty directory.
      seedFile: optionalString(env, 'DIRECTORY_SEED_FILE', defaultDirectorySeedFile) === 'none' ? '' : optionalString(env, 'DIRECTORY_SEED_FILE', defaultDirectorySeedFile)!,
      staleMonths: integer(env, 'DIRECTORY_STALE_MONTHS', defaultPartnerDirectoryConfig.staleMonths, { min: 1, max: 120 }),
      reminderIntervalMs: integer(env, 'DIRECTORY_REMINDER_INTERVAL_MS', defaultPartnerDirectoryConfig.reminderIntervalMs, { min: 0 }),
      hsdsHttp: optionalString(env, 'HSDS_HTTP_PORT')
        ? { host: optionalString(env, 'HSDS_HTTP_HOST', '127.0.0.1')!, port: integer(env, 'HSDS_HTTP_PORT', 0, { min: 0, max: 65535 }) }
        : undefined,
    },
  };
}
