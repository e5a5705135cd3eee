// The timeline's text, rendered when it is read: the facts of each step with the directory's
// names and the routing facts the hub holds now for the step's referral (none once erased).
import type { Kysely } from 'kysely';
import { hubReads } from '../db/hub-reads.js';
import type { HubDb } from '../db/schema.js';
import { stepText, type RenderContext } from '../domain/timeline-facts.js';
import type { TimelineRow } from './timeline-feed.js';

export type NameOf = (agencyId: string) => string;

/** The text of each of these steps, by event id; one look-up for the referrals of the requests among them. */
export async function timelineTexts(db: Kysely<HubDb>, rows: readonly TimelineRow[], nameOf: NameOf): Promise<Map<string, string>> {
  const ids = [...new Set(rows.filter((r) => r.event_type === 'ReferralRequested' && r.referral_id).map((r) => r.referral_id))];
  const referrals = ids.length ? await hubReads.routingFactsOf(db, ids) : [];
  const byId = new Map<string, RenderContext['referral']>(referrals.map((r) => [r.referral_id, { municipality: r.municipality, ageGroup: r.age_group, consentWithdrawn: r.withdrawn !== null }]));
  return new Map(rows.map((row) => [row.event_id, stepText(row, { nameOf, referral: byId.get(row.referral_id) })]));
}
