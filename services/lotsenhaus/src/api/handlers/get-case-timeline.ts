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
    // One snapshot for the summary and the entries: read apart, a step applied between the two
    // reads showed in the entries while the summary still had the status before it (seen once in
    // CI: four entries, the last an acceptance, under a summary still pending).
    const { summary, entries, texts } = await rt.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (trx) => {
        const summary = await hubReads.caseSummary(trx, caseRef);
        if (!summary) throw new NotFoundError('case_ref', caseRef, 'case');
        if (!(await visibleCases(trx, ctx.caller, [caseRef])).has(caseRef)) {
          throw new PermissionDeniedError(`case_ref: ${ctx.caller.agencyId} is no party to case ${caseRef}; an agency reads only the cases it is or was part of`);
        }
        const entries = await hubReads.timeline(trx, caseRef);
        return { summary, entries, texts: await timelineTexts(trx, entries, rt.nameOf) };
      });
    return {
      caseSummary: toCaseSummary(summary),
      entries: entries.map((e) => toTimelineEntry(e, texts.get(e.event_id) ?? e.summary)),
    };
  },
});
