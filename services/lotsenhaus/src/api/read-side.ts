import { common } from '@lotse/contracts';
import { channel, requireFlow } from '@lotse/flows';
import { handlersFor, type AgencyContext } from '@lotse/runtime';
import type { CallContext } from '@lotse/grpc';
import type { HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';
import type { TimelineFeed } from './timeline-feed.js';
import type { NameOf } from './timeline-text.js';

// What the hub's read handlers share: their runtime (the deployment with the routing directory
// and the timeline feed) and the flow check of the case index.

export interface HubReadSide extends AgencyContext<HubDb> {
  directory: Directory;
  feed: TimelineFeed;
  /** The directory's names of agencies, for the timeline's text. */
  nameOf: NameOf;
}

/** The hub's read handlers are declared with these (see libs/runtime's declared handlers). */
export const { unary, streaming } = handlersFor<HubReadSide>();

/** The case index carries the routing facts: only to agency types the flow table names. */
export function requireCaseIndexFlow(rt: HubReadSide, ctx: CallContext) {
  requireFlow({
    sender: rt.agencyType,
    recipient: ctx.caller.agencyType,
    channel: channel.grpc(ctx.method),
    purpose: 'case-coordination',
    categories: [common.DataCategory.DATA_CATEGORY_MUNICIPALITY, common.DataCategory.DATA_CATEGORY_AGE_GROUP],
  });
}
