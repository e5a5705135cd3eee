// Every query the hub's event handlers make of its own tables: referrals, the case index, the
// timeline, capacity, and the record of withdrawals and erasures. Handlers decide with the pure
// deciders (domain/) and persist through here.
import { common } from '@lotse/contracts';
import { trace } from '@opentelemetry/api';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CaseIndexChange, ReferralState, TimelineStep } from '../domain/referral-lifecycle.js';
import type { RoutingLoad } from '../domain/referral-decider.js';
import type { HubDb } from './schema.js';

type Trx = Transaction<HubDb>;
const { ReferralStatus: S } = common;

export const hubRepository = {
  referral: (trx: Trx, referralId: string, lock = false) => {
    const q = trx.selectFrom('hub_referral').selectAll().where('referral_id', '=', referralId);
    return (lock ? q.forUpdate() : q).executeTakeFirst();
  },

  /** The first referral under a consent in this case: an onward referral takes its routing facts. */
  firstUnderConsent: (trx: Trx, consentId: string, caseRef: string) =>
    trx.selectFrom('hub_referral').selectAll().where('consent_id', '=', consentId).where('case_ref', '=', caseRef).orderBy('requested_at').executeTakeFirst(),

  underConsent: (trx: Trx, consentId: string) =>
    trx.selectFrom('hub_referral').selectAll().where('consent_id', '=', consentId).orderBy('referral_id').forUpdate().execute(),

  /** The referral a job centre's case step is about: routed to it, the latest in the case. */
  routedInCase: (trx: Trx, caseRef: string, providerId: string, referralId?: string) => {
    let q = trx.selectFrom('hub_referral').select('referral_id').where('case_ref', '=', caseRef).where('provider_id', '=', providerId);
    if (referralId) q = q.where('referral_id', '=', referralId);
    return q.orderBy('requested_at', 'desc').executeTakeFirst();
  },

  /** Pending referrals due for escalation, locked (others running the same check skip them). */
  dueForEscalation: (trx: Trx, now: Date, limit: number) =>
    trx
      .selectFrom('hub_referral')
      .selectAll()
      .where('status', '=', S.REFERRAL_STATUS_PENDING)
      .where('escalated_at', 'is', null)
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute(),

  /** Writes a referral's new state: inserted, or only the columns that changed. */
  async saveReferral(trx: Trx, before: ReferralState | undefined, after: ReferralState): Promise<void> {
    if (!before) {
      await trx.insertInto('hub_referral').values(after).execute();
      return;
    }
    const changed = Object.fromEntries(Object.entries(after).filter(([k, v]) => !sameValue(v, before[k as keyof ReferralState])));
    if (Object.keys(changed).length) await trx.updateTable('hub_referral').set(changed).where('referral_id', '=', after.referral_id).execute();
  },

  async applyCaseIndex(trx: Trx, change: CaseIndexChange): Promise<void> {
    const s = change.set;
    const set = {
      ...(s.status !== undefined && { status: s.status }),
      ...(s.currentAgencyId !== undefined && { current_agency_id: s.currentAgencyId }),
      ...(s.municipality !== undefined && { municipality: s.municipality }),
      ...(s.ageGroup !== undefined && { age_group: s.ageGroup }),
      ...(s.escalated !== undefined && { escalated: s.escalated }),
      ...(s.updatedAt !== undefined && { updated_at: s.updatedAt }),
    };
    if (change.mode === 'update') {
      await trx.updateTable('case_index').set(set).where('case_ref', '=', change.caseRef).where('referral_id', '=', change.referralId).execute();
      return;
    }
    const row = { status: 0, current_agency_id: '', municipality: '', age_group: 0, updated_at: s.updatedAt!, ...set, referral_id: change.referralId };
    const insert = trx.insertInto('case_index').values({ case_ref: change.caseRef, opened_at: s.updatedAt!, ...row });
    await (change.mode === 'upsert' ? insert.onConflict((oc) => oc.column('case_ref').doUpdateSet(row)) : insert.onConflict((oc) => oc.column('case_ref').doNothing())).execute();
  },

  /** Adds one step to a case's timeline, as a fact, with the trace id of the work that produced it. */
  async recordStep(trx: Trx, step: TimelineStep & { eventId: string }): Promise<void> {
    const { kind, ...facts } = step.fact;
    await trx
      .insertInto('timeline_entry')
      .values({
        event_id: step.eventId,
        case_ref: step.caseRef,
        referral_id: step.referralId,
        event_type: step.eventType,
        agency_id: step.agencyId,
        occurred_at: step.occurredAt,
        trace_id: trace.getActiveSpan()?.spanContext().traceId ?? '',
        kind,
        facts: JSON.stringify(facts),
      })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .execute();
  },

  /** Referrals waiting per provider, and the capacity each provider last published. */
  async routingLoad(trx: Trx): Promise<RoutingLoad> {
    const rows = await trx
      .selectFrom('hub_referral')
      .select(['provider_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', [S.REFERRAL_STATUS_PENDING])
      .groupBy('provider_id')
      .execute();
    const capacity = new Map<string, Map<common.CapacityKind, number>>();
    for (const r of await trx.selectFrom('provider_capacity').selectAll().execute()) {
      if (!capacity.has(r.provider_id)) capacity.set(r.provider_id, new Map());
      capacity.get(r.provider_id)!.set(r.kind, r.free);
    }
    return { pending: new Map(rows.map((r) => [r.provider_id ?? '', Number(r.n)])), capacity };
  },

  /** The latest capacity a provider published, per kind (an older report never overwrites a newer). */
  saveCapacity: (trx: Trx, c: { providerId: string; kind: number; free: number; changedAt: Date }) =>
    trx
      .insertInto('provider_capacity')
      .values({ provider_id: c.providerId, kind: c.kind, free: c.free, changed_at: c.changedAt })
      .onConflict((oc) => oc.columns(['provider_id', 'kind']).doUpdateSet({ free: c.free, changed_at: c.changedAt }).where('provider_capacity.changed_at', '<=', c.changedAt))
      .execute(),

  consentWithdrawn: async (trx: Trx, consentId: string) => !!(await trx.selectFrom('consent_withdrawal').select('consent_id').where('consent_id', '=', consentId).executeTakeFirst()),

  recordWithdrawal: (trx: Trx, w: { consentId: string; caseRef: string; ownerAgencyId: string; receivedByAgencyId: string; withdrawnAt: Date }) =>
    trx
      .insertInto('consent_withdrawal')
      .values({ consent_id: w.consentId, case_ref: w.caseRef, owner_agency_id: w.ownerAgencyId, received_by_agency_id: w.receivedByAgencyId, withdrawn_at: w.withdrawnAt })
      .execute(),

  /** An erasure asked of a recipient; `confirmedAt` set where the hub erased its own share at once. */
  requestErasure: (trx: Trx, r: { consentId: string; recipient: string; caseRef: string; at: Date; confirmedAt?: Date; erased?: number[] }) =>
    trx
      .insertInto('erasure_request')
      .values({
        consent_id: r.consentId,
        recipient_agency_id: r.recipient,
        case_ref: r.caseRef,
        requested_at: r.at,
        confirmed_at: r.confirmedAt ?? null,
        ...(r.erased && { erased_categories: r.erased, retained: '[]' }),
      })
      .execute(),

  erasureRequest: (trx: Trx, consentId: string, recipient: string) =>
    trx.selectFrom('erasure_request').selectAll().where('consent_id', '=', consentId).where('recipient_agency_id', '=', recipient).forUpdate().executeTakeFirst(),

  confirmErasure: (trx: Trx, consentId: string, recipient: string, c: { confirmedAt: Date; erasedCategories: number[]; retained: { category: number; statute: string }[] }) =>
    trx
      .updateTable('erasure_request')
      .set({ confirmed_at: c.confirmedAt, erased_categories: c.erasedCategories, retained: JSON.stringify(c.retained) })
      .where('consent_id', '=', consentId)
      .where('recipient_agency_id', '=', recipient)
      .execute(),

  /** Unconfirmed routings, oldest first, with the count of sends of the routing they last counted. */
  unconfirmedRoutings: (trx: Trx, cutoff: Date, limit: number) =>
    unconfirmedRoutings(trx, cutoff)
      .select(['r.referral_id', 'routed.event_id as routed_event_id', 'f.routed_event_id as counted_event_id', 'f.resent_count', 'f.resent_at'])
      .orderBy('r.updated_at')
      .limit(limit)
      .execute(),

  /** Unconfirmed routings per recipient: how many, how many sent `maxAttempts` times already (stuck), the oldest. */
  unconfirmedPerRecipient: (db: Kysely<HubDb>, cutoff: Date, maxAttempts: number) =>
    unconfirmedRoutings(db, cutoff)
      .select((eb) => [
        'r.provider_id',
        eb.fn.countAll<number>().as('waiting'),
        eb.fn.count<number>(sql`case when f.routed_event_id = routed.event_id and f.resent_count >= ${maxAttempts} then 1 end`).as('stuck'),
        eb.fn.min('r.updated_at').as('oldest'),
      ])
      .groupBy('r.provider_id')
      .execute(),

  /** A routing sent again: how often, for which routing event (a re-routing starts anew). */
  countResend: (trx: Trx, r: { referralId: string; routedEventId: string; at: Date; count: number }) => {
    const values = { routed_event_id: r.routedEventId, resent_at: r.at, resent_count: r.count };
    return trx.insertInto('routing_follow_up').values({ referral_id: r.referralId, ...values }).onConflict((oc) => oc.column('referral_id').doUpdateSet(values)).execute();
  },

  firstReferralUnderConsent: async (trx: Trx, consentId: string) =>
    (await trx.selectFrom('hub_referral').select('referral_id').where('consent_id', '=', consentId).orderBy('referral_id').executeTakeFirst())?.referral_id,
};

/** Pending referrals whose current routing has no receipt from the recipient, routed before `cutoff` (select what you need). */
const unconfirmedRoutings = (db: Kysely<HubDb>, cutoff: Date) =>
  db
    .selectFrom('hub_referral as r')
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('timeline_entry as t')
          .select(['t.event_id', 't.seq'])
          .whereRef('t.referral_id', '=', 'r.referral_id')
          .where('t.event_type', '=', 'ReferralRouted')
          .orderBy('t.seq', 'desc')
          .limit(1)
          .as('routed'),
      (join) => join.onTrue(),
    )
    .leftJoin('routing_follow_up as f', 'f.referral_id', 'r.referral_id')
    .where('r.status', '=', S.REFERRAL_STATUS_PENDING)
    .where('r.provider_id', 'is not', null)
    .where('r.updated_at', '<', cutoff)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('timeline_entry as x')
            .select(sql`1`.as('one'))
            .whereRef('x.referral_id', '=', 'r.referral_id')
            .where('x.event_type', '=', 'ReferralReceived')
            .whereRef('x.agency_id', '=', 'r.provider_id')
            .whereRef('x.seq', '>', 'routed.seq'),
        ),
      ),
    );

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}
