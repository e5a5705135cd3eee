import { retentionConfig, type RetentionConfig } from '@lotse/audit';
import { addressMap, agencyId, optionalString, type Env } from '@lotse/config';
import { agencyConfig, type AgencyConfig } from '@lotse/runtime';

export interface MigrationServicesConfig extends AgencyConfig {
  hubAgencyId: string;
  /** gRPC addresses of the agencies that own newcomers' data, e.g. the foreign office. */
  peers: Map<string, string>;
  /** The hub's gRPC address (HUB_ADDRESS): the cooperation agreements are read from it. */
  hubAddress?: string;
  /** RETENTION_INTERVAL_MS, RETENTION_POLICY_FILE; defaults when absent. */
  retention?: RetentionConfig;
}

export function toConfig(env: Env): MigrationServicesConfig {
  return {
    ...agencyConfig(env, { agencyType: 'migration-services', idVariable: 'PROVIDER_ID', defaultPort: 50061 }),
    hubAgencyId: agencyId(env, 'HUB_AGENCY_ID', 'lotsenhaus'),
    peers: addressMap(env, 'PEERS'),
    hubAddress: optionalString(env, 'HUB_ADDRESS'),
    retention: retentionConfig(env),
  };
}
