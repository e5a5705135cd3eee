import { jobCentre as jc, jobCentreEvents } from '@lotse/contracts';
import { v7 as uuidv7 } from 'uuid';
import { openCustomerOrThrow, unary } from '../case-records.js';
import { toPlacement } from '../mappers.js';
import { validatePlacement } from '../validate.js';

/** A placement of an open case (a job, an apprenticeship, training or a measure); it goes out as its event. */
export const recordPlacement = unary(jc.JobCentreServiceService.recordPlacement, {
  access: 'self',
  validate: (req) => validatePlacement(req),
  idempotent: true,
  async handle(input, { rt, trx }) {
    const customer = await openCustomerOrThrow(trx, input.customerId, 'record a placement');
    const now = rt.now();
    const row = await trx
      .insertInto('placement')
      .values({
        placement_id: uuidv7(),
        customer_id: customer.customer_id,
        type: input.type,
        reference: input.reference,
        start_date: input.startDate,
        end_date: input.endDate,
        recorded_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await rt.publish(
      trx,
      jobCentreEvents.PlacementRecorded,
      {
        caseRef: customer.case_ref,
        jobCentreId: rt.agencyId,
        customerId: customer.customer_id,
        placementId: row.placement_id,
        type: row.type,
        startDate: row.start_date,
        endDate: row.end_date ?? '',
        recordedAt: now,
      },
      customer.case_ref,
    );
    return { placement: toPlacement(row) };
  },
});
