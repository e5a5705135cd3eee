// The queries of the hub's read side (the case list, a case's timeline, erasures, capacity),
// beside hub-repository.ts which holds those of the event handlers.
import { lotsenhaus } from '@lotse/contracts';
import { sql, type ExpressionBuilder, type Kysely, type SqlBool, type Transaction } from 'kysely';
import type { HubDb } from './schema.js';

export interface CaseFilter {
  /** Only cases this agency is a party to (absent: every case). */
  partyTo?: string;
  status?: number;
  agencyId?: string;
  municipality?: string;
  /** Waiting in their status since before this (updated_at). */
  waitingSince?: Date;
  escalatedOnly?: boolean;
  after?: string;
  limit: number;
}

export interface ErasureFilter {
  status: lotsenhaus.ErasureStatus;
  caseRef?: string;
  /** Only withdrawals of cases this foreign office owns. */
  ownerAgencyId?: string;
  after?: { consentId: string; recipient: string };
  limit: number;
}

export const hubReads = {
  caseSummary: (db: Kysely<HubDb>, caseRef: string) => db.selectFrom('case_index').selectAll().where('case_ref', '=', caseRef).executeTakeFirst(),

  timeline: (db: Kysely<HubDb>, caseRef: string) => db.selectFrom('timeline_entry').selectAll().where('case_ref', '=', caseRef).orderBy('occurred_at').orderBy('seq').execute(),

  listCases(db: Kysely<HubDb>, f: CaseFilter) {
    let query = db.selectFrom('case_index').selectAll().orderBy('case_ref').limit(f.limit);
    if (f.partyTo) query = query.where(isPartyTo(f.partyTo));
    if (f.status) query = query.where('status', '=', f.status);
    if (f.agencyId) query = query.where('current_agency_id', '=', f.agencyId);
    if (f.municipality) query = query.where('municipality', '=', f.municipality);
    if (f.waitingSince) query = query.where('updated_at', '<', f.waitingSince);
    if (f.escalatedOnly) query = query.where('escalated', '=', true);
    if (f.after) query = query.where('case_ref', '>', f.after);
    return query.execute();
  },

  /** Of these cases, the ones the agency is a party to. */
  async casesPartyTo(db: Kysely<HubDb>, agencyId: string, caseRefs: readonly string[]): Promise<Set<string>> {
    const rows = await db.selectFrom('case_index').select('case_ref').where('case_ref', 'in', [...new Set(caseRefs)]).where(isPartyTo(agencyId)).execute();
    return new Set(rows.map((r) => r.case_ref));
  },

  listErasures(db: Kysely<HubDb>, f: ErasureFilter) {
    let query = db
      .selectFrom('erasure_request as e')
      .innerJoin('consent_withdrawal as w', 'w.consent_id', 'e.consent_id')
      .select(['e.consent_id', 'e.case_ref', 'e.recipient_agency_id', 'e.requested_at', 'e.confirmed_at', 'e.erased_categories', 'e.retained', 'w.withdrawn_at', 'w.received_by_agency_id'])
      .orderBy('e.consent_id')
      .orderBy('e.recipient_agency_id')
      .limit(f.limit);
    if (f.status === lotsenhaus.ErasureStatus.ERASURE_STATUS_OPEN) query = query.where('e.confirmed_at', 'is', null);
    if (f.status === lotsenhaus.ErasureStatus.ERASURE_STATUS_CONFIRMED) query = query.where('e.confirmed_at', 'is not', null);
    if (f.caseRef) query = query.where('e.case_ref', '=', f.caseRef);
    if (f.ownerAgencyId) query = query.where('w.owner_agency_id', '=', f.ownerAgencyId);
    if (f.after) query = query.where(sql<boolean>`(e.consent_id, e.recipient_agency_id) > (${f.after.consentId}, ${f.after.recipient})`);
    return query.execute();
  },

  capacity: (db: Kysely<HubDb> | Transaction<HubDb>) => db.selectFrom('provider_capacity').selectAll().orderBy('provider_id').orderBy('kind').execute(),

  /** The routing facts of the referrals these steps are about, and whether their consent was withdrawn since. */
  routingFactsOf: (db: Kysely<HubDb>, referralIds: readonly string[]) =>
    db
      .selectFrom('hub_referral as r')
      .leftJoin('consent_withdrawal as w', 'w.consent_id', 'r.consent_id')
      .select(['r.referral_id', 'r.municipality', 'r.age_group', 'w.consent_id as withdrawn'])
      .where('r.referral_id', 'in', referralIds)
      .execute(),
};

/**
 * A party to a case: it referred (or owns the data of) one of the case's referrals, one is or
 * was with it (routed, declined by it), or it put a step on the case's timeline.
 */
export function isPartyTo(agencyId: string) {
  return (eb: ExpressionBuilder<HubDb, 'case_index'>) =>
    eb.or([
      eb.exists(
        eb
          .selectFrom('hub_referral as r')
          .select(sql`1`.as('one'))
          .whereRef('r.case_ref', '=', 'case_index.case_ref')
          .where((w) =>
            w.or([
              w('r.referrer_agency_id', '=', agencyId),
              w('r.provider_id', '=', agencyId),
              w('r.owner_agency_id', '=', agencyId),
              sql<SqlBool>`${agencyId} = any(r.declined_by)`,
            ]),
          ),
      ),
      eb.exists(eb.selectFrom('timeline_entry as t').select(sql`1`.as('one')).whereRef('t.case_ref', '=', 'case_index.case_ref').where('t.agency_id', '=', agencyId)),
    ]);
}
