import { retentionConfig, type RetentionConfig } from '@lotse/audit';
import { addressMap, agencyId, optionalString, type Env } from '@lotse/config';
import { agencyConfig, receiptFollowUpConfig, type AgencyConfig, type ReceiptFollowUpOptions } from '@lotse/runtime';

export interface MigrationServicesConfig extends AgencyConfig {
  hubAgencyId: string;
  /** gRPC addresses of the agencies that own newcomers' data, e.g. the foreign office. */
  peers: Map<string, string>;
  /** The hub's gRPC address (HUB_ADDRESS): the cooperation agreements are read from it. */
  hubAddress?: string;
  /** RECEIPT_FOLLOW_UP_INTERVAL_MS, _AFTER_MS, _ATTEMPTS: asking the hub which of our events it has (needs hubAddress). */
  receiptFollowUp?: ReceiptFollowUpOptions;
  /** RETENTION_INTERVAL_MS, RETENTION_POLICY_FILE; defaults when absent. */
  retention?: RetentionConfig;
}

export function toConfig(env: Env): MigrationServicesConfig {
  return {
    ...agencyConfig(env, { agencyType: 'migration-services', idVariable: 'PROVIDER_ID', defaultPort: 50061 }),
    hubAgencyId: agencyId(env, 'HUB_AGENCY_ID', 'lotsenhaus'),
    peers: addressMap(env, 'PEERS'),
    hubAddress: optionalString(env, 'HUB_ADDRESS'),
    receiptFollowUp: receiptFollowUpConfig(env),
    retention: retentionConfig(env),
  };
}
