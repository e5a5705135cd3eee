import { lotsenhaus } from '@lotse/contracts';
import { NotFoundError, PermissionDeniedError, setCaseRef, Violations } from '@lotse/grpc';
import { hubReads } from '../../db/hub-reads.js';
import { visibleCases } from '../case-parties.js';
import { requireCaseIndexFlow, unary } from '../read-side.js';
import { toCaseSummary, toTimelineEntry } from '../timeline-feed.js';
import { timelineTexts } from '../timeline-text.js';

/** A case's summary and timeline, for an agency that is or was party to the case (need to know). */
export const getCaseTimeline = unary(lotsenhaus.LotsenhausServiceService.getCaseTimeline, {
  access: { relation: 'party-to-case' },
  validate: (req) => {
    const v = new Violations();
    const caseRef = v.text('case_ref', req.caseRef, { max: 64 });
    v.throwIfAny();
    return { caseRef };
  },
  async handle({ caseRef }, { rt, ctx }) {
    requireCaseIndexFlow(rt, ctx);
    setCaseRef(caseRef);
    const summary = await hubReads.caseSummary(rt.db, caseRef);
    if (!summary) throw new NotFoundError('case_ref', caseRef, 'case');
    if (!(await visibleCases(rt.db, ctx.caller, [caseRef])).has(caseRef)) {
      throw new PermissionDeniedError(`case_ref: ${ctx.caller.agencyId} is no party to case ${caseRef}; an agency reads only the cases it is or was part of`);
    }
    const entries = await hubReads.timeline(rt.db, caseRef);
    const texts = await timelineTexts(rt.db, entries, rt.nameOf);
    return {
      caseSummary: toCaseSummary(summary),
      entries: entries.map((e) => toTimelineEntry(e, texts.get(e.event_id) ?? e.summary)),
    };
  },
});
