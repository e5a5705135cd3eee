import { jobCentre as jc, jobCentreEvents } from '@lotse/contracts';
import { FailedPreconditionError, ValidationError } from '@lotse/grpc';
import { closingObstacle } from '../../domain/case-outcome.js';
import { openCustomerOrThrow, unary } from '../case-records.js';
import { toCustomer } from '../mappers.js';
import { closedOnViolation, validateClose } from '../validate.js';

/** An open case is closed with its outcome, where the placements on record bear it out; the closing goes out as its event. */
export const closeCase = unary(jc.JobCentreServiceService.closeCase, {
  access: 'self',
  validate: (req, rt) => validateClose(req, rt.now()),
  idempotent: true,
  async handle(input, { rt, trx }) {
    const customer = await openCustomerOrThrow(trx, input.customerId, 'close the case again');
    const problem = closedOnViolation(input.closedOn, customer.benefits_start, rt.now());
    if (problem) throw ValidationError.field('closed_on', problem);
    const placements = await trx.selectFrom('placement').select('type').where('customer_id', '=', customer.customer_id).execute();
    const obstacle = closingObstacle(input.outcome, placements.map((p) => p.type));
    if (obstacle) throw new FailedPreconditionError(obstacle);
    const now = rt.now();
    const row = await trx
      .updateTable('customer')
      .set({ status: jc.CustomerStatus.CUSTOMER_STATUS_CLOSED, outcome: input.outcome, closed_on: input.closedOn, closed_at: now })
      .where('customer_id', '=', customer.customer_id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await rt.publish(
      trx,
      jobCentreEvents.JobCentreCaseClosed,
      { caseRef: row.case_ref, jobCentreId: rt.agencyId, customerId: row.customer_id, outcome: row.outcome, closedOn: input.closedOn, closedAt: now },
      row.case_ref,
    );
    return { customer: toCustomer(row) };
  },
});
