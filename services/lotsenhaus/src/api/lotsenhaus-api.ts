import type { lotsenhaus } from '@lotse/contracts';
import type { AsyncHandlers } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';
import { caseReads } from './case-reads.js';
import { erasureReads } from './erasure-reads.js';
import { networkReads } from './network-reads.js';
import type { TimelineFeed } from './timeline-feed.js';

/** Read side of the hub: an agency of the network (mTLS) reads the pseudonymous index of its own cases. */
export function lotsenhausApi(rt: AgencyContext<HubDb>, directory: Directory, feed: TimelineFeed): AsyncHandlers<typeof lotsenhaus.LotsenhausServiceService> {
  return { ...caseReads(rt, directory, feed), ...erasureReads(rt.db), ...networkReads(rt.db, directory) };
}
