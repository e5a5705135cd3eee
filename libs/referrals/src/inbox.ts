import { common, events, type envelope } from '@lotse/contracts';
import { FailedPreconditionError, NotFoundError, pageSize, setCaseRef } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import type { Kysely, Transaction } from 'kysely';
import { inboxTable, workflowDb, type ReceivedReferralRow } from './tables.js';
import { inboxActionProblem, type InboxAction, type InboxStatuses } from './transitions.js';

/** How a routed referral is taken in: waiting for a decision, declined at once, or closed on arrival. */
interface Admission {
  status: number;
  /** Declined at once with this reason (the hub re-routes). */
  declineReason?: common.DeclineReason;
  /** Its consent was withdrawn before it arrived: kept closed, without its routing facts, and nobody is told. */
  closed?: boolean;
}

/** Where and how a service keeps the referrals the hub routes to it. */
export interface RoutedIntake<DB> {
  /** The service's table; it has the columns of RoutedReferral (see ReceivedReferralTable). */
  table: string;
  /** The service's status of a referral waiting for its decision. */
  pending: number;
  /** Values of the service's own columns on a new row, over the shared ones. */
  ownValues?(msg: events.ReferralRouted, now: Date): Record<string, unknown>;
  /** A routing addressed to another agency: by default an error (retried, then parked); here ignored. */
  ignoreMisaddressed?: boolean;
  /** A step of the service's own once the hub was told the referral arrived (ReferralReceived). */
  received?(trx: Transaction<DB>, msg: events.ReferralRouted, receivedEventId: string, now: Date): Promise<void>;
}

/**
 * Takes a routed referral in, once: a redelivered or repeated routing changes nothing. The hub
 * hears that it arrived (ReferralReceived) and, when it was declined at once, why.
 */
async function takeIn<DB>(rt: AgencyContext<DB>, trx: Transaction<DB>, intake: RoutedIntake<DB>, msg: events.ReferralRouted, admission: Admission): Promise<void> {
  if (msg.providerId !== rt.agencyId) {
    if (intake.ignoreMisaddressed) return;
    throw new Error(`referral ${msg.referralId} was routed to ${msg.providerId}, not to ${rt.agencyId}`);
  }
  const now = rt.now();
  const declined = admission.declineReason !== undefined;
  const inserted = await workflowDb(trx)
    .insertInto(inboxTable(intake.table))
    .values({
      referral_id: msg.referralId,
      case_ref: msg.caseRef,
      referrer_agency_id: msg.referrerAgencyId,
      purpose: msg.purpose,
      age_group: admission.closed ? 0 : msg.ageGroup,
      consent_id: msg.consentId,
      status: admission.status,
      owner_agency_id: msg.ownerAgencyId,
      ...(declined ? { decline_reason: admission.declineReason, decided_at: now } : {}),
      ...intake.ownValues?.(msg, now),
    })
    .onConflict((oc) => oc.column('referral_id').doNothing())
    .returning('referral_id')
    .executeTakeFirst();
  if (!inserted || admission.closed) return;
  const receivedId = await rt.publish(trx, events.ReferralReceived, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: rt.agencyId }, msg.caseRef);
  if (declined) {
    // Routing a purpose this agency does not serve is the hub's mistake; declining lets it re-route.
    rt.logger.warn({ referral_id: msg.referralId, purpose: common.purposeToJSON(msg.purpose) }, 'referral for a purpose this agency does not serve; declined');
    await rt.publish(
      trx,
      events.ReferralDeclined,
      { referralId: msg.referralId, caseRef: msg.caseRef, providerId: rt.agencyId, reason: admission.declineReason!, declinedAt: now },
      msg.caseRef,
    );
  }
  await intake.received?.(trx, msg, receivedId, now);
}

/** The ReferralRouted handler of an agency that takes every routed referral in as pending (the one-stop desk). */
export function routedReferrals<DB>(rt: AgencyContext<DB>, intake: RoutedIntake<DB> & { withdrawn: number }) {
  return {
    async ReferralRouted(trx: Transaction<DB>, msg: events.ReferralRouted, _env: envelope.Envelope): Promise<void> {
      await takeIn(rt, trx, intake, msg, { status: intake.pending });
    },

    /** Withdrawn by its sender or with the consent: a referral still waiting is closed; a taken-in one stays. */
    async ReferralWithdrawn(trx: Transaction<DB>, msg: events.ReferralWithdrawn, _env: envelope.Envelope): Promise<void> {
      if (msg.providerId !== rt.agencyId) return;
      await workflowDb(trx)
        .updateTable(inboxTable(intake.table))
        .set({ status: intake.withdrawn })
        .where('referral_id', '=', msg.referralId)
        .where('status', '=', intake.pending)
        .execute();
    },
  };
}

/** A service's inbox of referrals that its caseworkers accept, decline and complete. */
export interface InboxAdapter<DB> extends Omit<RoutedIntake<DB>, 'pending'> {
  statuses: InboxStatuses;
  /** The purposes this agency takes referrals for; one routed for another is declined at once. All when absent. */
  servedPurposes?: readonly common.Purpose[];
  /** Whether the referral's consent was withdrawn before the routing arrived (a redelivery overtaken by the withdrawal). */
  withdrawnBeforeArrival?(trx: Transaction<DB>, msg: events.ReferralRouted): Promise<boolean>;
  /**
   * The consent of a routed referral was withdrawn: stop processing and erase what came under it.
   * Without it such a referral is closed like one its referrer withdrew.
   */
  consentWithdrawn?(trx: Transaction<DB>, msg: events.ReferralWithdrawn, env: envelope.Envelope): Promise<void>;
}

export type ReferralInbox<DB, Row extends ReceivedReferralRow> = ReturnType<typeof referralInbox<DB, Row>>;

/**
 * The recipient's side of the referral workflow: the hub's events about referrals routed here,
 * and the transitions a caseworker makes (accept, decline, complete), each with its event.
 * Row is the service's row type of its inbox table.
 */
export function referralInbox<DB, Row extends ReceivedReferralRow>(rt: AgencyContext<DB>, adapter: InboxAdapter<DB>) {
  const { statuses } = adapter;
  const table = inboxTable(adapter.table);
  const intake: RoutedIntake<DB> = { ...adapter, pending: statuses.pending };

  /** The referral (its case on the call's span), or NOT_FOUND naming referral_id. */
  async function get(db: Kysely<DB>, referralId: string): Promise<Row> {
    const row = await workflowDb(db).selectFrom(table).selectAll().where('referral_id', '=', referralId).executeTakeFirst();
    if (!row) throw new NotFoundError('referral_id', referralId);
    setCaseRef(row.case_ref);
    return row as Row;
  }

  function require(row: ReceivedReferralRow, action: InboxAction): void {
    const problem = inboxActionProblem(statuses, row.referral_id, row.status, action);
    if (problem) throw new FailedPreconditionError(problem);
  }

  async function decide(trx: Transaction<DB>, referralId: string, accepted: boolean, reason: common.DeclineReason): Promise<Row> {
    const row = await get(trx, referralId);
    require(row, accepted ? 'accept' : 'decline');
    const now = rt.now();
    const updated = await workflowDb(trx)
      .updateTable(table)
      .set({ status: accepted ? statuses.accepted : statuses.declined, decline_reason: reason, decided_at: now })
      .where('referral_id', '=', referralId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const facts = { referralId, caseRef: row.case_ref, providerId: rt.agencyId };
    if (accepted) await rt.publish(trx, events.ReferralAccepted, { ...facts, acceptedAt: now }, row.case_ref);
    else await rt.publish(trx, events.ReferralDeclined, { ...facts, reason, declinedAt: now }, row.case_ref);
    return updated as Row;
  }

  return {
    get,

    /** A page of the inbox in referral id order, of one status or all; the token names the last referral of the page. */
    async page(db: Kysely<DB>, request: { status: number; pageToken: string; pageSize: number }): Promise<{ rows: Row[]; nextPageToken: string }> {
      const limit = pageSize(request.pageSize);
      let query = workflowDb(db).selectFrom(table).selectAll().orderBy('referral_id').limit(limit + 1);
      if (request.status) query = query.where('status', '=', request.status);
      if (request.pageToken) query = query.where('referral_id', '>', request.pageToken);
      const rows = (await query.execute()) as Row[];
      const page = rows.slice(0, limit);
      return { rows: page, nextPageToken: rows.length > limit ? page[page.length - 1]!.referral_id : '' };
    },

    /** The referral, locked until the transaction ends (an erasure under its consent locks it too), or NOT_FOUND. */
    async lock(trx: Transaction<DB>, referralId: string): Promise<Row> {
      const row = await workflowDb(trx).selectFrom(table).selectAll().where('referral_id', '=', referralId).forUpdate().executeTakeFirst();
      if (!row) throw new NotFoundError('referral_id', referralId);
      return row as Row;
    },

    /** The newest referral of the case, or the one named, from which the case is referred on. */
    async referOnSource(trx: Transaction<DB>, source: { referralId: string; caseRef: string }, refuse?: (row: Row) => void): Promise<Row> {
      let query = workflowDb(trx).selectFrom(table).selectAll();
      query = source.referralId ? query.where('referral_id', '=', source.referralId) : query.where('case_ref', '=', source.caseRef).orderBy('received_at', 'desc');
      const row = (await query.executeTakeFirst()) as Row | undefined;
      if (!row) throw source.referralId ? new NotFoundError('referral_id', source.referralId) : new NotFoundError('case_ref', source.caseRef, 'case');
      setCaseRef(row.case_ref);
      refuse?.(row);
      require(row, 'refer on');
      return row;
    },

    accept: (trx: Transaction<DB>, referralId: string) => decide(trx, referralId, true, 0),
    decline: (trx: Transaction<DB>, referralId: string, reason: common.DeclineReason) => decide(trx, referralId, false, reason),

    async complete(trx: Transaction<DB>, referralId: string, outcome: common.ReferralOutcome): Promise<Row> {
      const row = await get(trx, referralId);
      require(row, 'complete');
      const now = rt.now();
      const updated = await workflowDb(trx)
        .updateTable(table)
        .set({ status: statuses.completed, outcome })
        .where('referral_id', '=', referralId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await rt.publish(trx, events.ReferralCompleted, { referralId, caseRef: row.case_ref, providerId: rt.agencyId, outcome, completedAt: now }, row.case_ref);
      return updated as Row;
    },

    /** The hub routed a referral here: pending, or declined at once for a purpose not served, or closed when its consent went first. */
    async ReferralRouted(trx: Transaction<DB>, msg: events.ReferralRouted, _env: envelope.Envelope): Promise<void> {
      const closed = msg.providerId === rt.agencyId && (await adapter.withdrawnBeforeArrival?.(trx, msg)) === true;
      const served = !adapter.servedPurposes || adapter.servedPurposes.includes(msg.purpose);
      const admission: Admission = closed
        ? { status: statuses.withdrawn, closed }
        : served
          ? { status: statuses.pending }
          : { status: statuses.declined, declineReason: common.DeclineReason.DECLINE_REASON_TARGET_GROUP_NOT_COVERED };
      await takeIn(rt, trx, intake, msg, admission);
    },

    /** The referrer withdrew the referral (consent_id empty), or its consent was withdrawn: closed here. */
    async ReferralWithdrawn(trx: Transaction<DB>, msg: events.ReferralWithdrawn, env: envelope.Envelope): Promise<void> {
      if (msg.providerId !== rt.agencyId) {
        rt.logger.warn({ referral_id: msg.referralId, provider: msg.providerId }, 'withdrawal addressed to another provider; ignored');
        return;
      }
      if (msg.consentId && adapter.consentWithdrawn) {
        await adapter.consentWithdrawn(trx, msg, env);
        return;
      }
      await workflowDb(trx)
        .updateTable(table)
        .set({ status: statuses.withdrawn, decided_at: msg.withdrawnAt ?? rt.now() })
        .where('referral_id', '=', msg.referralId)
        .where('status', 'in', [statuses.pending, statuses.accepted])
        .execute();
    },
  };
}
