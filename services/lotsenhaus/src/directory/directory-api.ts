import { directory as dir } from '@lotse/contracts';
import type { AsyncHandlers } from '@lotse/grpc';
import { declaredService, type AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import type { DirectoryApiOptions, PartnerDirectory } from './directory-records.js';
import { confirmEntry } from './handlers/confirm-entry.js';
import { getOrganization } from './handlers/get-organization.js';
import { listOrganizations } from './handlers/list-organizations.js';
import { listStale } from './handlers/list-stale.js';
import { upsertContact } from './handlers/upsert-contact.js';
import { upsertLocation } from './handlers/upsert-location.js';
import { upsertOffer } from './handlers/upsert-offer.js';
import { upsertOrganization } from './handlers/upsert-organization.js';
import { upsertProcedure } from './handlers/upsert-procedure.js';
import type { DirectoryDb } from './schema.js';

export type { DirectoryApiOptions } from './directory-records.js';

const S = dir.DirectoryServiceService;

/**
 * lotse.lotsenhaus.v1.DirectoryService: everyone reads; each partner edits only its own
 * organisations. One declared handler per RPC (directory/handlers/), checked against the matrix at start.
 */
export function directoryApi(hub: AgencyContext<HubDb>, options: DirectoryApiOptions): AsyncHandlers<typeof S> {
  // The hub's deployment holds the directory's tables beside its own.
  const directory: PartnerDirectory = { ...(hub as unknown as AgencyContext<DirectoryDb>), ...options };
  return declaredService(directory, S, {
    listOrganizations,
    getOrganization,
    upsertOrganization,
    upsertOffer,
    upsertLocation,
    upsertContact,
    upsertProcedure,
    confirmEntry,
    listStale,
  });
}
