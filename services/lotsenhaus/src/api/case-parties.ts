// Need to know at the hub: an agency reads the case index and timeline only of the cases it is
// or was a party to. Without it any certified provider could list the whole network's case
// references, and with the foreign office's disclosure collect the names behind them.
import type { AgencyIdentity } from '@lotse/grpc';
import { sql, type Kysely, type SqlBool, type ExpressionBuilder } from 'kysely';
import type { HubDb } from '../db/schema.js';

/**
 * Agency types that see every case: the hub itself and the operators (until caseworker roles
 * come, the operator certificate stands for the coordination office).
 */
const seesEveryCase = new Set(['lotsenhaus', 'operator']);

export function seesAllCases(caller: AgencyIdentity): boolean {
  return seesEveryCase.has(caller.agencyType);
}

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

/** Of these cases, the ones the caller may see. */
export async function visibleCases(db: Kysely<HubDb>, caller: AgencyIdentity, caseRefs: readonly string[]): Promise<Set<string>> {
  if (seesAllCases(caller) || caseRefs.length === 0) return new Set(caseRefs);
  const rows = await db.selectFrom('case_index').select('case_ref').where('case_ref', 'in', [...new Set(caseRefs)]).where(isPartyTo(caller.agencyId)).execute();
  return new Set(rows.map((r) => r.case_ref));
}
