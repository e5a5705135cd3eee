import { jobCentre as jc, jobCentreEvents } from '@lotse/contracts';
import { AlreadyExistsError, FailedPreconditionError } from '@lotse/grpc';
import { v7 as uuidv7 } from 'uuid';
import { unary } from '../case-records.js';
import { toCustomer } from '../mappers.js';
import { validateRegisterCustomer } from '../validate.js';

const { IntakeStatus, CustomerStatus } = jc;

/** An accepted referral becomes a customer: one open job centre case per case and per customer number. */
export const registerCustomer = unary(jc.JobCentreServiceService.registerCustomer, {
  access: 'self',
  validate: (req) => validateRegisterCustomer(req),
  idempotent: true,
  async handle(input, { rt, trx }) {
    const referral = await rt.inbox.get(trx, input.referralId);
    if (referral.status !== IntakeStatus.INTAKE_STATUS_ACCEPTED) {
      throw new FailedPreconditionError(`referral ${input.referralId} is ${jc.intakeStatusToJSON(referral.status)}; only an accepted referral makes a customer`);
    }
    const existing = await trx.selectFrom('customer').select('customer_id').where('referral_id', '=', input.referralId).executeTakeFirst();
    if (existing) throw new AlreadyExistsError(`referral ${input.referralId} is already registered as customer ${existing.customer_id}`);
    const open = CustomerStatus.CUSTOMER_STATUS_ACTIVE;
    const sameCase = await trx.selectFrom('customer').select('customer_id').where('case_ref', '=', referral.case_ref).where('status', '=', open).executeTakeFirst();
    if (sameCase) throw new AlreadyExistsError(`case ${referral.case_ref} already has an open job centre case: customer ${sameCase.customer_id}`);
    const sameNumber = await trx.selectFrom('customer').select('customer_id').where('customer_number', '=', input.customerNumber).where('status', '=', open).executeTakeFirst();
    if (sameNumber) throw new AlreadyExistsError(`customer_number: an open case of customer ${sameNumber.customer_id} has this customer number`);
    const now = rt.now();
    const row = await trx
      .insertInto('customer')
      .values({
        customer_id: uuidv7(),
        referral_id: input.referralId,
        case_ref: referral.case_ref,
        customer_number: input.customerNumber,
        bg_number: input.bgNumber,
        benefits_start: input.benefitsStart,
        status: open,
        registered_at: now,
        outcome: 0,
        closed_on: null,
        closed_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await rt.publish(
      trx,
      jobCentreEvents.CustomerRegistered,
      { caseRef: row.case_ref, jobCentreId: rt.agencyId, customerId: row.customer_id, referralId: row.referral_id, registeredAt: now },
      row.case_ref,
    );
    rt.logger.info({ customer_id: row.customer_id, case_ref: row.case_ref }, 'customer registered');
    return { customer: toCustomer(row) };
  },
});
