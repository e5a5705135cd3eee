import { migrationServices as ms } from '@lotse/contracts';
import { Violations } from '@lotse/grpc';
import { referralsWithData } from '@lotse/referrals';
import { toInboxReferral, unary } from '../case-records.js';

/** The referrals routed here, by status, a page at a time; with whether data was fetched for each. */
export const listReferrals = unary(ms.MigrationServicesServiceService.listReferrals, {
  access: 'self',
  validate: (req) => {
    const v = new Violations();
    v.enumValue('status', req.status, ms.InboxStatus, { required: false });
    v.throwIfAny();
    return req;
  },
  async handle(req, { rt }) {
    const { rows, nextPageToken } = await rt.inbox.page(rt.db, req);
    const fetched = await referralsWithData(rt.db, rows.map((r) => r.referral_id));
    return { referrals: rows.map((r) => toInboxReferral(r, fetched.has(r.referral_id))), nextPageToken };
  },
});
