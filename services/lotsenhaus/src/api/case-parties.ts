// Need to know at the hub: an agency reads the case index and timeline only of the cases it is
// or was a party to. Without it any certified provider could list the whole network's case
// references, and with the foreign office's disclosure collect the names behind them.
import type { AgencyIdentity } from '@lotse/grpc';
import type { Kysely } from 'kysely';
import { hubReads } from '../db/hub-reads.js';
import type { HubDb } from '../db/schema.js';

/**
 * Agency types that see every case: the hub itself and the operators (until caseworker roles
 * come, the operator certificate stands for the coordination office).
 */
const seesEveryCase = new Set(['lotsenhaus', 'operator']);

export function seesAllCases(caller: AgencyIdentity): boolean {
  return seesEveryCase.has(caller.agencyType);
}

/** Of these cases, the ones the caller may see. */
export async function visibleCases(db: Kysely<HubDb>, caller: AgencyIdentity, caseRefs: readonly string[]): Promise<Set<string>> {
  if (seesAllCases(caller) || caseRefs.length === 0) return new Set(caseRefs);
  return hubReads.casesPartyTo(db, caller.agencyId, caseRefs);
}
