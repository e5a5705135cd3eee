import { agencyId, type Env } from '@lotse/config';
import { agencyConfig, type AgencyConfig } from '@lotse/runtime';

export interface ForeignOfficeConfig extends AgencyConfig {
  /** The hub whose status updates this foreign office follows. */
  hubAgencyId: string;
}

export function toConfig(env: Env): ForeignOfficeConfig {
  return {
    ...agencyConfig(env, { agencyType: 'foreign-office', defaultId: 'kv-mayen-koblenz', defaultPort: 50051 }),
    hubAgencyId: agencyId(env, 'HUB_AGENCY_ID', 'lotsenhaus'),
  };
}
