import { jobCentre as jc } from '@lotse/contracts';
import { Violations } from '@lotse/grpc';
import { referralExtras, unary } from '../case-records.js';
import { toIntakeReferral } from '../mappers.js';

/** The referrals routed here, by status, a page at a time; with whether data was fetched and which customer came of each. */
export const listReferrals = unary(jc.JobCentreServiceService.listReferrals, {
  access: 'self',
  validate: (req) => {
    const v = new Violations();
    v.enumValue('status', req.status, jc.IntakeStatus, { required: false });
    v.throwIfAny();
    return req;
  },
  async handle(req, { rt }) {
    const { rows, nextPageToken } = await rt.inbox.page(rt.db, req);
    const { fetched, customers } = await referralExtras(rt.db, rows.map((r) => r.referral_id));
    return { referrals: rows.map((r) => toIntakeReferral(r, { dataFetched: fetched.has(r.referral_id), customerId: customers.get(r.referral_id) })), nextPageToken };
  },
});
