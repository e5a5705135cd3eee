import type { Kysely } from 'kysely';
import type { HubDb } from '../db/schema.js';

// The statistics' only window on the hub's data, read only: of timeline_entry the case, the kind
// of step, the agency that took it and when; of case_index the case's municipality and age
// group. No summaries, no referral rows, nothing a person could be named by.

export interface CaseSteps {
  caseRef: string;
  municipality: string;
  ageGroup: number;
  /** common.v1.Purpose of the case's first referral (0 when the hub has no referral row). */
  purpose: number;
  /** The first language of the first referral; empty when not consented or erased. */
  language: string;
  steps: { kind: string; agencyId: string; at: Date }[];
}

/** The cohort: cases whose first ReferralRequested lies in [from, to), with all their steps. */
export async function cohortSteps(db: Kysely<HubDb>, from: Date, to: Date): Promise<CaseSteps[]> {
  const firsts = db
    .selectFrom('timeline_entry')
    .select(['case_ref'])
    .select((eb) => eb.fn.min('occurred_at').as('first_at'))
    .where('event_type', '=', 'ReferralRequested')
    .groupBy('case_ref')
    .as('f');
  const firstReferral = db
    .selectFrom('hub_referral')
    .distinctOn('case_ref')
    .select(['case_ref', 'purpose', 'languages'])
    .orderBy('case_ref')
    .orderBy('requested_at')
    .as('r');
  const rows = await db
    .selectFrom(firsts)
    .innerJoin('timeline_entry as t', 't.case_ref', 'f.case_ref')
    .leftJoin('case_index as c', 'c.case_ref', 'f.case_ref')
    .leftJoin(firstReferral, 'r.case_ref', 'f.case_ref')
    .select(['t.case_ref', 't.event_type', 't.agency_id', 't.occurred_at', 'c.municipality', 'c.age_group', 'r.purpose', 'r.languages'])
    .where('f.first_at', '>=', from)
    .where('f.first_at', '<', to)
    .orderBy('t.case_ref')
    .orderBy('t.occurred_at')
    .execute();
  const cases = new Map<string, CaseSteps>();
  for (const r of rows) {
    let c = cases.get(r.case_ref);
    if (!c) cases.set(r.case_ref, (c = { caseRef: r.case_ref, municipality: r.municipality ?? '', ageGroup: r.age_group ?? 0, purpose: r.purpose ?? 0, language: r.languages?.[0] ?? '', steps: [] }));
    c.steps.push({ kind: r.event_type, agencyId: r.agency_id, at: r.occurred_at });
  }
  return [...cases.values()];
}
