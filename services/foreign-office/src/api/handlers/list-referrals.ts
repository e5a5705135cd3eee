import { foreignOffice } from '@lotse/contracts';
import { pageSize } from '@lotse/grpc';
import { unary } from '../case-records.js';
import { toReferral } from '../mappers.js';

/** The office's referrals, by newcomer or status, a page at a time (ordered by referral id). */
export const listReferrals = unary(foreignOffice.ForeignOfficeServiceService.listReferrals, {
  access: 'self',
  async handle(req, { rt }) {
    const limit = pageSize(req.pageSize);
    let query = rt.db.selectFrom('referral').selectAll().orderBy('referral_id').limit(limit + 1);
    if (req.newcomerId) query = query.where('newcomer_id', '=', req.newcomerId);
    if (req.status) query = query.where('status', '=', req.status);
    if (req.pageToken) query = query.where('referral_id', '>', req.pageToken);
    const rows = await query.execute();
    const page = rows.slice(0, limit);
    return { referrals: page.map(toReferral), nextPageToken: rows.length > limit ? page[page.length - 1]!.referral_id : '' };
  },
});
