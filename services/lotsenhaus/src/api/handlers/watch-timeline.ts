import { lotsenhaus } from '@lotse/contracts';
import { setCaseRef, Violations } from '@lotse/grpc';
import { seesAllCases, visibleCases } from '../case-parties.js';
import { requireCaseIndexFlow, streaming } from '../read-side.js';

/**
 * The timeline as it grows, of one case or of every case the caller is party to, from a position
 * on; the feed (timeline-feed.ts) sends until the caller goes away.
 */
export const watchTimeline = streaming(lotsenhaus.LotsenhausServiceService.watchTimeline, {
  access: { relation: 'party-to-case' },
  validate: (req) => {
    const v = new Violations();
    const caseRef = v.text('case_ref', req.caseRef, { max: 64, required: false });
    v.throwIfAny();
    return { caseRef: caseRef || undefined, afterPosition: req.afterPosition };
  },
  async handle({ caseRef, afterPosition }, { rt, ctx }) {
    requireCaseIndexFlow(rt, ctx);
    if (caseRef) setCaseRef(caseRef);
    const canSee = seesAllCases(ctx.caller) ? undefined : (refs: readonly string[]) => visibleCases(rt.db, ctx.caller, refs);
    await rt.feed.follow({ afterPosition, caseRef, canSee }, ctx.signal, ctx.send);
  },
});
