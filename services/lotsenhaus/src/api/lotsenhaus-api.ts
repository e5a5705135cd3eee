import { lotsenhaus } from '@lotse/contracts';
import type { AsyncHandlers } from '@lotse/grpc';
import { declaredService, type AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import { agencyNames, type Directory } from '../domain/directory.js';
import { getCaseTimeline } from './handlers/get-case-timeline.js';
import { listAgreements } from './handlers/list-agreements.js';
import { listCases } from './handlers/list-cases.js';
import { listErasures } from './handlers/list-erasures.js';
import { listProviders } from './handlers/list-providers.js';
import { watchTimeline } from './handlers/watch-timeline.js';
import type { HubReadSide } from './read-side.js';
import type { TimelineFeed } from './timeline-feed.js';

/**
 * Read side of the hub: an agency of the network (mTLS) reads the pseudonymous index of its own
 * cases. One declared handler per RPC (api/handlers/), checked against the matrix at start.
 */
export function lotsenhausApi(rt: AgencyContext<HubDb>, directory: Directory, feed: TimelineFeed): AsyncHandlers<typeof lotsenhaus.LotsenhausServiceService> {
  const hub: HubReadSide = { ...rt, directory, feed, nameOf: agencyNames(directory) };
  return declaredService(hub, lotsenhaus.LotsenhausServiceService, { getCaseTimeline, listCases, watchTimeline, listProviders, listAgreements, listErasures });
}
