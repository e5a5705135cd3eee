import { common, lotsenhaus } from '@lotse/contracts';
import { pageSize, Violations } from '@lotse/grpc';
import { hubReads } from '../../db/hub-reads.js';
import { waitingSinceCutoff } from '../../domain/working-days.js';
import { seesAllCases } from '../case-parties.js';
import { requireCaseIndexFlow, unary } from '../read-side.js';
import { toCaseSummary } from '../timeline-feed.js';

/** The case index, of the cases the caller is party to (the hub and operators: all), filtered and a page at a time. */
export const listCases = unary(lotsenhaus.LotsenhausServiceService.listCases, {
  access: { relation: 'party-to-case' },
  validate: (req) => {
    const v = new Violations();
    v.enumValue('status', req.status, common.ReferralStatus, { required: false });
    const municipality = v.text('municipality', req.municipality, { max: 64, required: false });
    if (req.waitingLongerThanWorkingDays > 250) v.add('waiting_longer_than_working_days', 'must be at most 250');
    v.throwIfAny();
    return { ...req, municipality };
  },
  async handle(input, { rt, ctx }) {
    requireCaseIndexFlow(rt, ctx);
    const limit = pageSize(input.pageSize);
    const rows = await hubReads.listCases(rt.db, {
      partyTo: seesAllCases(ctx.caller) ? undefined : ctx.caller.agencyId,
      status: input.status,
      agencyId: input.agencyId,
      municipality: input.municipality,
      // The case waits in its status since its last status change (updated_at).
      waitingSince: input.waitingLongerThanWorkingDays ? waitingSinceCutoff(rt.now(), input.waitingLongerThanWorkingDays) : undefined,
      escalatedOnly: input.escalatedOnly,
      after: input.pageToken || undefined,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return { cases: page.map(toCaseSummary), nextPageToken: rows.length > limit ? page[page.length - 1]!.case_ref : '' };
  },
});
