import { oneStop } from '@lotse/contracts';
import { Violations } from '@lotse/grpc';
import { unary } from '../desk-records.js';
import { toReferral } from '../mappers.js';

/** The referrals the hub routed to the Lotsenhaus, all or those in one status, oldest first. */
export const listOneStopReferrals = unary(oneStop.OneStopServiceService.listOneStopReferrals, {
  access: 'self',
  validate: (req) => {
    const v = new Violations();
    v.enumValue('status', req.status, oneStop.OneStopReferralStatus, { required: false });
    v.throwIfAny();
    return req;
  },
  async handle({ status }, { rt }) {
    let query = rt.db.selectFrom('one_stop_referral').selectAll().orderBy('received_at').orderBy('referral_id');
    if (status) query = query.where('status', '=', status);
    return { referrals: (await query.execute()).map(toReferral) };
  },
});
