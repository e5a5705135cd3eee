// The case list and a case's timeline, for the agencies party to a case (need to know).
import { common, lotsenhaus } from '@lotse/contracts';
import { channel, requireFlow } from '@lotse/flows';
import { NotFoundError, pageSize, PermissionDeniedError, setCaseRef, Violations, type AsyncHandlers, type CallContext } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import { hubReads } from '../db/hub-reads.js';
import type { HubDb } from '../db/schema.js';
import { agencyNames, type Directory } from '../domain/directory.js';
import { waitingSinceCutoff } from '../domain/working-days.js';
import { seesAllCases, visibleCases } from './case-parties.js';
import { toCaseSummary, toTimelineEntry, type TimelineFeed } from './timeline-feed.js';
import { timelineTexts } from './timeline-text.js';

type Handlers = AsyncHandlers<typeof lotsenhaus.LotsenhausServiceService>;

export function caseReads(rt: AgencyContext<HubDb>, directory: Directory, feed: TimelineFeed): Pick<Handlers, 'getCaseTimeline' | 'watchTimeline' | 'listCases'> {
  const { db } = rt;
  const nameOf = agencyNames(directory);

  /** The case index carries the routing facts: only to agency types the flow table names. */
  function requireCaseIndexFlow(ctx: CallContext) {
    requireFlow({
      sender: rt.agencyType,
      recipient: ctx.caller.agencyType,
      channel: channel.grpc(ctx.method),
      purpose: 'case-coordination',
      categories: [common.DataCategory.DATA_CATEGORY_MUNICIPALITY, common.DataCategory.DATA_CATEGORY_AGE_GROUP],
    });
  }

  return {
    async getCaseTimeline(req, ctx) {
      requireCaseIndexFlow(ctx);
      const v = new Violations();
      const caseRef = v.text('case_ref', req.caseRef, { max: 64 });
      v.throwIfAny();
      setCaseRef(caseRef);
      const summary = await hubReads.caseSummary(db, caseRef);
      if (!summary) throw new NotFoundError('case_ref', caseRef, 'case');
      if (!(await visibleCases(db, ctx.caller, [caseRef])).has(caseRef)) {
        throw new PermissionDeniedError(`case_ref: ${ctx.caller.agencyId} is no party to case ${caseRef}; an agency reads only the cases it is or was part of`);
      }
      const entries = await hubReads.timeline(db, caseRef);
      const texts = await timelineTexts(db, entries, nameOf);
      return {
        caseSummary: toCaseSummary(summary),
        entries: entries.map((e) => toTimelineEntry(e, texts.get(e.event_id) ?? e.summary)),
      };
    },

    async watchTimeline(req, ctx) {
      requireCaseIndexFlow(ctx);
      const v = new Violations();
      const caseRef = v.text('case_ref', req.caseRef, { max: 64, required: false });
      v.throwIfAny();
      if (caseRef) setCaseRef(caseRef);
      const canSee = seesAllCases(ctx.caller) ? undefined : (refs: readonly string[]) => visibleCases(db, ctx.caller, refs);
      await feed.follow({ afterPosition: req.afterPosition, caseRef: caseRef || undefined, canSee }, ctx.signal, ctx.send);
    },

    async listCases(req, ctx) {
      requireCaseIndexFlow(ctx);
      const v = new Violations();
      v.enumValue('status', req.status, common.ReferralStatus, { required: false });
      const municipality = v.text('municipality', req.municipality, { max: 64, required: false });
      if (req.waitingLongerThanWorkingDays > 250) v.add('waiting_longer_than_working_days', 'must be at most 250');
      v.throwIfAny();
      const limit = pageSize(req.pageSize);
      const rows = await hubReads.listCases(db, {
        partyTo: seesAllCases(ctx.caller) ? undefined : ctx.caller.agencyId,
        status: req.status,
        agencyId: req.agencyId,
        municipality,
        // The case waits in its status since its last status change (updated_at).
        waitingSince: req.waitingLongerThanWorkingDays ? waitingSinceCutoff(rt.now(), req.waitingLongerThanWorkingDays) : undefined,
        escalatedOnly: req.escalatedOnly,
        after: req.pageToken || undefined,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return { cases: page.map(toCaseSummary), nextPageToken: rows.length > limit ? page[page.length - 1]!.case_ref : '' };
    },

  };
}
