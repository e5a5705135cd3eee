import { addressMap, agencyId, ConfigError, optionalString, type Env } from '@lotse/config';
import { agencyConfig, receiptFollowUpConfig, type AgencyConfig, type ReceiptFollowUpOptions } from '@lotse/runtime';

export interface JobCentreConfig extends AgencyConfig {
  hubAgencyId: string;
  /** gRPC addresses of the agencies that own newcomers' data (the foreign offices), by agency id. */
  peers: Map<string, string>;
  /**
   * The data owner to ask when the referring agency is not one (a migration service refers on,
   * but the foreign office holds the data): DATA_OWNER_ID, or the only entry of PEERS.
   */
  dataOwnerId: string | undefined;
  /** The hub's gRPC address (HUB_ADDRESS): the cooperation agreements are read from it. */
  hubAddress?: string;
  /** RECEIPT_FOLLOW_UP_INTERVAL_MS, _AFTER_MS, _ATTEMPTS: asking the hub which of our events it has (needs hubAddress). */
  receiptFollowUp?: ReceiptFollowUpOptions;
}

export function toConfig(env: Env): JobCentreConfig {
  const peers = addressMap(env, 'PEERS');
  const explicitOwner = optionalString(env, 'DATA_OWNER_ID') ? agencyId(env, 'DATA_OWNER_ID') : undefined;
  if (explicitOwner && !peers.has(explicitOwner)) throw new ConfigError('DATA_OWNER_ID', `names ${explicitOwner}, which has no address in PEERS`);
  return {
    ...agencyConfig(env, { agencyType: 'job-centre', idVariable: 'JOB_CENTRE_ID', defaultPort: 50071 }),
    hubAgencyId: agencyId(env, 'HUB_AGENCY_ID', 'lotsenhaus'),
    peers,
    dataOwnerId: explicitOwner ?? (peers.size === 1 ? [...peers.keys()][0] : undefined),
    hubAddress: optionalString(env, 'HUB_ADDRESS'),
    receiptFollowUp: receiptFollowUpConfig(env),
  };
}
