import { jobCentre as jc } from '@lotse/contracts';
import { FailedPreconditionError, NotFoundError, UnavailableError } from '@lotse/grpc';
import { receivingHandlersFor, referralsWithData, type ReceivingAgency } from '@lotse/referrals';
import { handlersFor } from '@lotse/runtime';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { IntakeReferralTable, JobCentreDb } from '../db/schema.js';
import { toIntakeReferral } from './mappers.js';

// What several handlers of the job centre read of its own records: a customer, an open case, and
// an intake referral with what came of it; and which agency holds a referred newcomer's data.

type IntakeRow = Selectable<IntakeReferralTable>;

/** The job centre's context with its referral intake and the data owners it knows. */
export interface JobCentre extends ReceivingAgency<JobCentreDb, IntakeRow> {
  /** Addresses of the agencies that own newcomers' data (the foreign offices), by agency id. */
  peers: ReadonlyMap<string, string>;
  /** The owner to ask when the referring agency is not a data owner (see config). */
  dataOwnerId: string | undefined;
}

/** The job centre's handlers are declared with these (see libs/runtime's declared handlers). */
export const { unary } = handlersFor<JobCentre>();

/** The handlers every receiving agency shares (libs/referrals), for the job centre's runtime. */
export const shared = receivingHandlersFor<JobCentre, JobCentreDb, IntakeRow>();

/**
 * Which agency holds the newcomer's data: the referrer when it is a data owner (a foreign office
 * referring directly), otherwise the configured owner (a migration service referring on).
 */
export function ownerOf(rt: JobCentre, referrerAgencyId: string, named = ''): string {
  // The hub names the owner on the routing event; older events did not.
  if (named) return named;
  if (rt.peers.has(referrerAgencyId)) return referrerAgencyId;
  if (rt.dataOwnerId) return rt.dataOwnerId;
  throw new UnavailableError(`cannot tell which agency holds the data of a case referred by ${referrerAgencyId}: set DATA_OWNER_ID or PEERS`);
}

export async function customerOrThrow(trx: Kysely<JobCentreDb>, customerId: string) {
  const row = await trx.selectFrom('customer').selectAll().where('customer_id', '=', customerId).executeTakeFirst();
  if (!row) throw new NotFoundError('customer_id', customerId);
  return row;
}

/** Funding, plans and placements belong to an open case. */
export async function openCustomerOrThrow(trx: Transaction<JobCentreDb>, customerId: string, doing: string) {
  const row = await customerOrThrow(trx, customerId);
  if (row.status !== jc.CustomerStatus.CUSTOMER_STATUS_ACTIVE) {
    throw new FailedPreconditionError(`customer ${customerId} is ${jc.customerStatusToJSON(row.status)}; cannot ${doing} for a closed case`);
  }
  return row;
}

/** Whether data was fetched and which customer came of it, for a page of referrals. */
export async function referralExtras(trx: Kysely<JobCentreDb>, referralIds: string[]) {
  if (!referralIds.length) return { fetched: new Set<string>(), customers: new Map<string, string>() };
  const [fetched, customers] = await Promise.all([
    referralsWithData(trx, referralIds),
    trx.selectFrom('customer').select(['referral_id', 'customer_id']).where('referral_id', 'in', referralIds).execute(),
  ]);
  return { fetched, customers: new Map(customers.map((c) => [c.referral_id, c.customer_id])) };
}

export async function intakeReferral(trx: Kysely<JobCentreDb>, row: IntakeRow) {
  const { fetched, customers } = await referralExtras(trx, [row.referral_id]);
  return toIntakeReferral(row, { dataFetched: fetched.has(row.referral_id), customerId: customers.get(row.referral_id) });
}
