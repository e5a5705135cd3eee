import { jobCentre as jc } from '@lotse/contracts';
import { Violations } from '@lotse/grpc';
import { customerOrThrow, unary } from '../case-records.js';
import { toCustomer, toFunding, toPlacement, toPlan } from '../mappers.js';
import { validateCustomerId } from '../validate.js';

/** A customer's case: its funding decisions, cooperation plans (each with its steps) and placements. */
export const getCustomer = unary(jc.JobCentreServiceService.getCustomer, {
  access: 'self',
  validate: (req) => {
    const v = new Violations();
    const customerId = validateCustomerId(v, req.customerId);
    v.throwIfAny();
    return customerId;
  },
  async handle(customerId, { rt: { db } }) {
    const customer = await customerOrThrow(db, customerId);
    const [fundings, plans, placements] = await Promise.all([
      db.selectFrom('language_course_funding').selectAll().where('customer_id', '=', customerId).orderBy('decided_at').orderBy('decision_id').execute(),
      db.selectFrom('cooperation_plan').selectAll().where('customer_id', '=', customerId).orderBy('version').execute(),
      db.selectFrom('placement').selectAll().where('customer_id', '=', customerId).orderBy('start_date').orderBy('placement_id').execute(),
    ]);
    const steps = plans.length
      ? await db.selectFrom('cooperation_plan_step').selectAll().where('plan_id', 'in', plans.map((p) => p.plan_id)).execute()
      : [];
    return {
      customer: toCustomer(customer),
      fundingDecisions: fundings.map(toFunding),
      cooperationPlans: plans.map((p) => toPlan(p, steps.filter((s) => s.plan_id === p.plan_id))),
      placements: placements.map(toPlacement),
    };
  },
});
