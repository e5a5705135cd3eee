import { common, jobCentre as jc, jobCentreEvents } from '@lotse/contracts';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  NotFoundError,
  once,
  pageSize,
  requireOwnCaseworker as requireOwn,
  UnavailableError,
  ValidationError,
  Violations,
  type AsyncHandlers,
  type CallContext,
} from '@lotse/grpc';
import { consentedFetch, ownerClients, receivedReferralReader, referralApi, referralsWithData, type AgreementSource } from '@lotse/referrals';
import type { AgencyContext } from '@lotse/runtime';
import type { Kysely, Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { JobCentreDb } from '../db/schema.js';
import { closingObstacle } from '../domain/case-outcome.js';
import { planSummary } from '../domain/cooperation-plan.js';
import { toCustomer, toFunding, toIntakeReferral, toNewcomerData, toPlacement, toPlan } from './mappers.js';
import {
  closedOnViolation,
  validateClose,
  validateCustomerId,
  validateFunding,
  validatePlacement,
  validatePlan,
  validateRegisterCustomer,
} from './validate.js';
import { referralIntake } from '../events/referral-intake.js';

const S = jc.JobCentreServiceService;
const { IntakeStatus, CustomerStatus } = jc;
type Trx = Transaction<JobCentreDb>;

export interface JobCentreDeps {
  /** Addresses of the agencies that own newcomers' data (the foreign offices), by agency id. */
  peers: ReadonlyMap<string, string>;
  /** The owner to ask when the referring agency is not a data owner (see config). */
  dataOwnerId: string | undefined;
  /** The cooperation agreements (from the hub): a referral no agreement allows is refused here. */
  agreements: AgreementSource;
}

export function jobCentreApi(rt: AgencyContext<JobCentreDb>, deps: JobCentreDeps): AsyncHandlers<typeof S> {
  const { db, agencyId } = rt;
  const intake = referralIntake(rt);
  const owners = ownerClients(rt, deps.peers);

  /**
   * Which agency holds the newcomer's data: the referrer when it is a data owner (a foreign office
   * referring directly), otherwise the configured owner (a migration service referring on).
   */
  function ownerOf(referrerAgencyId: string, named = ''): string {
    // The hub names the owner on the routing event; older events did not.
    if (named) return named;
    if (deps.peers.has(referrerAgencyId)) return referrerAgencyId;
    if (deps.dataOwnerId) return deps.dataOwnerId;
    throw new UnavailableError(`cannot tell which agency holds the data of a case referred by ${referrerAgencyId}: set DATA_OWNER_ID or PEERS`);
  }

  const requireOwnCaseworker = (ctx: CallContext) => requireOwn(ctx, agencyId);

  async function customerOrThrow(trx: Kysely<JobCentreDb>, customerId: string) {
    const row = await trx.selectFrom('customer').selectAll().where('customer_id', '=', customerId).executeTakeFirst();
    if (!row) throw new NotFoundError('customer_id', customerId);
    return row;
  }

  /** Funding, plans and placements belong to an open case. */
  async function openCustomerOrThrow(trx: Trx, customerId: string, doing: string) {
    const row = await customerOrThrow(trx, customerId);
    if (row.status !== CustomerStatus.CUSTOMER_STATUS_ACTIVE) {
      throw new FailedPreconditionError(`customer ${customerId} is ${jc.customerStatusToJSON(row.status)}; cannot ${doing} for a closed case`);
    }
    return row;
  }

  /** Whether data was fetched and which customer came of it, for a page of referrals. */
  async function referralExtras(trx: Kysely<JobCentreDb>, referralIds: string[]) {
    if (!referralIds.length) return { fetched: new Set<string>(), customers: new Map<string, string>() };
    const [fetched, customers] = await Promise.all([
      referralsWithData(trx, referralIds),
      trx.selectFrom('customer').select(['referral_id', 'customer_id']).where('referral_id', 'in', referralIds).execute(),
    ]);
    return { fetched, customers: new Map(customers.map((c) => [c.referral_id, c.customer_id])) };
  }

  async function intakeReferral(trx: Kysely<JobCentreDb>, row: Awaited<ReturnType<typeof intake.get>>) {
    const { fetched, customers } = await referralExtras(trx, [row.referral_id]);
    return toIntakeReferral(row, { dataFetched: fetched.has(row.referral_id), customerId: customers.get(row.referral_id) });
  }

  return {
    // --- referral intake ------------------------------------------------------------------------

    // AcceptReferral, DeclineReferral, CompleteReferral, RequestReferral, WithdrawReferral, SetCapacity.
    ...referralApi(rt, {
      inbox: intake,
      contracts: jc,
      message: intakeReferral,
      agreements: deps.agreements,
      capacity: { kind: common.CapacityKind.CAPACITY_KIND_LANGUAGE_COURSE_PLACES, field: 'freeLanguageCoursePlaces' },
      // A case referred on by a migration service names the configured owner, not the referrer.
      ownerOf: (source) => source.owner_agency_id || (deps.peers.has(source.referrer_agency_id) ? source.referrer_agency_id : (deps.dataOwnerId ?? '')),
    }),

    async listReferrals(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      v.enumValue('status', req.status, IntakeStatus, { required: false });
      v.throwIfAny();
      const { rows, nextPageToken } = await intake.page(db, req);
      const { fetched, customers } = await referralExtras(db, rows.map((r) => r.referral_id));
      return { referrals: rows.map((r) => toIntakeReferral(r, { dataFetched: fetched.has(r.referral_id), customerId: customers.get(r.referral_id) })), nextPageToken };
    },

    getReferral: receivedReferralReader(rt, intake, async (trx, row, record) => ({
      referral: await intakeReferral(trx, row),
      newcomer: record ? toNewcomerData(record) : undefined,
    })),

    // The consented fetch from the owner the hub named, else the referrer or the configured owner.
    fetchNewcomerData: consentedFetch(rt, {
      inbox: intake,
      owners,
      accepted: IntakeStatus.INTAKE_STATUS_ACCEPTED,
      statusName: jc.intakeStatusToJSON,
      ownerOf: (referral) => ownerOf(referral.referrer_agency_id, referral.owner_agency_id),
      codecs: [jc.FetchNewcomerDataRequest, jc.FetchNewcomerDataResponse],
      response: (record) => ({ newcomer: toNewcomerData(record) }),
    }),

    // --- the customer's case --------------------------------------------------------------------

    async registerCustomer(req, ctx) {
      requireOwnCaseworker(ctx);
      const input = validateRegisterCustomer(req);
      return rt.transact((trx) =>
        once(trx, { method: 'RegisterCustomer', requestId: input.requestId, request: req, requestCodec: jc.RegisterCustomerRequest }, jc.RegisterCustomerResponse, async () => {
          const referral = await intake.get(trx, input.referralId);
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
            { caseRef: row.case_ref, jobCentreId: agencyId, customerId: row.customer_id, referralId: row.referral_id, registeredAt: now },
            row.case_ref,
          );
          rt.logger.info({ customer_id: row.customer_id, case_ref: row.case_ref }, 'customer registered');
          return { customer: toCustomer(row) };
        }),
      );
    },

    async getCustomer(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      const customerId = validateCustomerId(v, req.customerId);
      v.throwIfAny();
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

    async listCustomers(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      v.enumValue('status', req.status, CustomerStatus, { required: false });
      v.throwIfAny();
      const limit = pageSize(req.pageSize);
      let query = db.selectFrom('customer').selectAll().orderBy('customer_id').limit(limit + 1);
      if (req.status) query = query.where('status', '=', req.status);
      if (req.pageToken) query = query.where('customer_id', '>', req.pageToken);
      const rows = await query.execute();
      const page = rows.slice(0, limit);
      return { customers: page.map(toCustomer), nextPageToken: rows.length > limit ? page[page.length - 1]!.customer_id : '' };
    },

    async decideLanguageCourseFunding(req, ctx) {
      requireOwnCaseworker(ctx);
      const input = validateFunding(req, rt.now());
      return rt.transact((trx) =>
        once(
          trx,
          { method: 'DecideLanguageCourseFunding', requestId: input.requestId, request: req, requestCodec: jc.DecideLanguageCourseFundingRequest },
          jc.DecideLanguageCourseFundingResponse,
          async () => {
            const customer = await openCustomerOrThrow(trx, input.customerId, 'decide language-course funding');
            const now = rt.now();
            const row = await trx
              .insertInto('language_course_funding')
              .values({
                decision_id: uuidv7(),
                customer_id: customer.customer_id,
                assessed_level: req.assessedLevel,
                target_level: req.targetLevel,
                decision: req.decision,
                refusal_reason: input.refusalReason,
                course_start: input.courseStart,
                decided_at: now,
              })
              .returningAll()
              .executeTakeFirstOrThrow();
            await rt.publish(
              trx,
              jobCentreEvents.LanguageCourseFundingDecided,
              {
                caseRef: customer.case_ref,
                jobCentreId: agencyId,
                customerId: customer.customer_id,
                decisionId: row.decision_id,
                assessedLevel: row.assessed_level,
                targetLevel: row.target_level,
                decision: row.decision,
                refusalReason: row.refusal_reason,
                courseStart: row.course_start ?? '',
                decidedAt: now,
              },
              customer.case_ref,
            );
            return { funding: toFunding(row) };
          },
        ),
      );
    },

    async agreeCooperationPlan(req, ctx) {
      requireOwnCaseworker(ctx);
      const input = validatePlan(req, rt.now());
      return rt.transact((trx) =>
        once(trx, { method: 'AgreeCooperationPlan', requestId: input.requestId, request: req, requestCodec: jc.AgreeCooperationPlanRequest }, jc.AgreeCooperationPlanResponse, async () => {
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
              jobCentreId: agencyId,
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
        }),
      );
    },

    async recordPlacement(req, ctx) {
      requireOwnCaseworker(ctx);
      const input = validatePlacement(req);
      return rt.transact((trx) =>
        once(trx, { method: 'RecordPlacement', requestId: input.requestId, request: req, requestCodec: jc.RecordPlacementRequest }, jc.RecordPlacementResponse, async () => {
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
              jobCentreId: agencyId,
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
        }),
      );
    },

    async closeCase(req, ctx) {
      requireOwnCaseworker(ctx);
      const input = validateClose(req, rt.now());
      return rt.transact((trx) =>
        once(trx, { method: 'CloseCase', requestId: input.requestId, request: req, requestCodec: jc.CloseCaseRequest }, jc.CloseCaseResponse, async () => {
          const customer = await openCustomerOrThrow(trx, input.customerId, 'close the case again');
          const problem = closedOnViolation(input.closedOn, customer.benefits_start, rt.now());
          if (problem) throw ValidationError.field('closed_on', problem);
          const placements = await trx.selectFrom('placement').select('type').where('customer_id', '=', customer.customer_id).execute();
          const obstacle = closingObstacle(input.outcome, placements.map((p) => p.type));
          if (obstacle) throw new FailedPreconditionError(obstacle);
          const now = rt.now();
          const row = await trx
            .updateTable('customer')
            .set({ status: CustomerStatus.CUSTOMER_STATUS_CLOSED, outcome: input.outcome, closed_on: input.closedOn, closed_at: now })
            .where('customer_id', '=', customer.customer_id)
            .returningAll()
            .executeTakeFirstOrThrow();
          await rt.publish(
            trx,
            jobCentreEvents.JobCentreCaseClosed,
            { caseRef: row.case_ref, jobCentreId: agencyId, customerId: row.customer_id, outcome: row.outcome, closedOn: input.closedOn, closedAt: now },
            row.case_ref,
          );
          return { customer: toCustomer(row) };
        }),
      );
    },
  };
}
