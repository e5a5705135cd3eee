import { jobCentre as jc, jobCentreEvents } from '@lotse/contracts';
import { ValidationError } from '@lotse/grpc';
import { v7 as uuidv7 } from 'uuid';
import { planSummary } from '../../domain/cooperation-plan.js';
import { openCustomerOrThrow, unary } from '../case-records.js';
import { toPlan } from '../mappers.js';
import { validatePlan } from '../validate.js';

/** A new version of the customer's cooperation plan, never dated before the plan in force; its summary goes out as an event. */
export const agreeCooperationPlan = unary(jc.JobCentreServiceService.agreeCooperationPlan, {
  access: 'self',
  validate: (req, rt) => validatePlan(req, rt.now()),
  idempotent: true,
  async handle(input, { rt, trx }) {
    const customer = await openCustomerOrThrow(trx, input.customerId, 'agree a cooperation plan');
    const latest = await trx
      .selectFrom('cooperation_plan')
      .select(['version', 'plan_date'])
      .where('customer_id', '=', customer.customer_id)
      .orderBy('version', 'desc')
      .executeTakeFirst();
    if (latest && input.planDate < latest.plan_date) {
      throw ValidationError.field('plan_date', `must not be before the plan in force (version ${latest.version} of ${latest.plan_date})`);
    }
    const now = rt.now();
    const plan = await trx
      .insertInto('cooperation_plan')
      .values({ plan_id: uuidv7(), customer_id: customer.customer_id, version: (latest?.version ?? 0) + 1, plan_date: input.planDate, goals: input.goals, agreed_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    const steps = await trx
      .insertInto('cooperation_plan_step')
      .values(
        input.steps.map((s, position) => ({
          plan_id: plan.plan_id,
          position,
          description: s.description,
          due_date: s.dueDate,
          responsible: s.responsible,
          partner_agency_id: s.partnerAgencyId || null,
        })),
      )
      .returningAll()
      .execute();
    await rt.publish(
      trx,
      jobCentreEvents.CooperationPlanAgreed,
      {
        caseRef: customer.case_ref,
        jobCentreId: rt.agencyId,
        customerId: customer.customer_id,
        planId: plan.plan_id,
        version: plan.version,
        planDate: plan.plan_date,
        ...planSummary(input.goals, input.steps),
        agreedAt: now,
      },
      customer.case_ref,
    );
    return { plan: toPlan(plan, steps) };
  },
});
