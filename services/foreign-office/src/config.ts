import { retentionConfig, type RetentionConfig } from '@lotse/audit';
import { addressMap, agencyId, type Env } from '@lotse/config';
import { agencyConfig, type AgencyConfig } from '@lotse/runtime';

export interface ForeignOfficeConfig extends AgencyConfig {
  /** The hub whose status updates this foreign office follows. */
  hubAgencyId: string;
  /** gRPC addresses of the network's agencies (PEERS), asked for their part of a transparency report. */
  peers?: Map<string, string>;
  /** RETENTION_INTERVAL_MS, RETENTION_POLICY_FILE; defaults when absent. */
  retention?: RetentionConfig;
}

export function toConfig(env: Env): ForeignOfficeConfig {
  return {
    ...agencyConfig(env, { agencyType: 'foreign-office', defaultId: 'kv-mayen-koblenz', defaultPort: 50051 }),
    hubAgencyId: agencyId(env, 'HUB_AGENCY_ID', 'lotsenhaus'),
    peers: addressMap(env, 'PEERS'),
    retention: retentionConfig(env),
  };
}
