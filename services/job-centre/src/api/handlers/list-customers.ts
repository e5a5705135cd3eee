import { jobCentre as jc } from '@lotse/contracts';
import { pageSize, Violations } from '@lotse/grpc';
import { unary } from '../case-records.js';
import { toCustomer } from '../mappers.js';

/** The job centre's customers, by status, a page at a time (ordered by customer id). */
export const listCustomers = unary(jc.JobCentreServiceService.listCustomers, {
  access: 'self',
  validate: (req) => {
    const v = new Violations();
    v.enumValue('status', req.status, jc.CustomerStatus, { required: false });
    v.throwIfAny();
    return req;
  },
  async handle(req, { rt }) {
    const limit = pageSize(req.pageSize);
    let query = rt.db.selectFrom('customer').selectAll().orderBy('customer_id').limit(limit + 1);
    if (req.status) query = query.where('status', '=', req.status);
    if (req.pageToken) query = query.where('customer_id', '>', req.pageToken);
    const rows = await query.execute();
    const page = rows.slice(0, limit);
    return { customers: page.map(toCustomer), nextPageToken: rows.length > limit ? page[page.length - 1]!.customer_id : '' };
  },
});
