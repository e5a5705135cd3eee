import { operator } from '@lotse/contracts';
import { listParkedRecords } from '@lotse/messaging';
import { authorise, toProto, unary } from '../parked-records.js';

/** More would not fit a screen; the newest are what an operator looks at. */
const LIST_LIMIT = 500;

/** The deployment's dead letters, open ones or all. */
export const listParkedMessages = unary(operator.OperatorServiceService.listParkedMessages, {
  access: 'network',
  async handle(request, { rt, ctx }) {
    authorise(ctx);
    const rows = await listParkedRecords(rt.db, { includeResolved: request.includeResolved, limit: LIST_LIMIT });
    return { messages: rows.map(toProto) };
  },
});
