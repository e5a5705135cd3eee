// A timeline step is stored as a fact: a kind and structured fields (agency ids, codes, counts,
// dates of case steps), never the text people read. The text is rendered when the timeline is
// read, with the directory's names and the routing facts the hub still holds. So a withdrawal
// erases the routing facts in one place (hub_referral) and the timeline follows without any
// stored summary being rewritten.
import { common } from '@lotse/contracts';
import { categoryKey } from '@lotse/flows';

export type TimelineFact =
  | { kind: 'requested'; referralType: number; purpose: number; /** '' when the foreign office referred */ by: string }
  | { kind: 'closed-on-arrival' }
  | { kind: 'skipped'; provider: string; reason: string }
  | { kind: 'routed'; provider: string; reason: 'preferred' | 'agreement'; reRouted: boolean }
  | { kind: 'unroutable'; reason: string }
  | { kind: 'withdrawn-by-referrer'; by: string }
  | { kind: 'escalated'; provider: string }
  | { kind: 'consent-withdrawn'; receivedBy: string; closed: number; asked: string[] }
  | { kind: 'erasure-confirmed'; by: string; erased: number[]; retained: { category: number; statute: string }[] }
  | { kind: 'received'; provider: string }
  | { kind: 'accepted'; provider: string }
  | { kind: 'declined'; provider: string; reason: number }
  | { kind: 'completed'; provider: string; outcome: number }
  | { kind: 'data-fetched'; owner: string; categories: number[] }
  | { kind: 'first-contact'; date: string; channel: number }
  | { kind: 'jc-registered'; jobCentre: string }
  | { kind: 'jc-funding'; decision: number; assessedLevel: number; targetLevel: number; courseStart: string; refusalReason: number }
  | { kind: 'jc-plan'; version: number; planDate: string; goalCount: number; stepCount: number; firstDueDate: string; lastDueDate: string; partners: string[] }
  | { kind: 'jc-placement'; type: number; startDate: string; endDate: string }
  | { kind: 'jc-closed'; closedOn: string; outcome: number };

export type TimelineKind = TimelineFact['kind'];

/** What a rendering may need beyond the fact: names, and the routing facts of the step's referral. */
export interface RenderContext {
  nameOf(agencyId: string): string;
  /** The referral's routing facts as the hub holds them now; `consentWithdrawn` once they were erased. */
  referral?: { municipality: string; ageGroup: number; consentWithdrawn: boolean };
}

export const requestedSummaryAfterErasure = 'Referral to migration counselling requested (routing facts erased after the consent was withdrawn)';

const jcLevel = (l: number) => ['?', 'A1', 'A2', 'B1', 'B2', 'C1'][l] ?? '?';
const jcPlacement = (t: number) => ['unspecified', 'activation measure', 'vocational training measure', 'job', 'apprenticeship'][t] ?? 'unspecified';
const jcOutcome = (o: number) => ['unspecified', 'employed', 'vocational training', 'moved away', 'no longer eligible', 'other'][o] ?? 'unspecified';
const purposeWords = (p: number) => common.purposeToJSON(p || common.Purpose.PURPOSE_MIGRATION_COUNSELLING).replace('PURPOSE_', '').replace(/_/g, ' ').toLowerCase();
const lower = (json: string, prefix: string) => json.replace(prefix, '').toLowerCase();

/** The text of a step, as the timeline shows it. */
export function renderFact(fact: TimelineFact, ctx: RenderContext): string {
  const name = ctx.nameOf;
  switch (fact.kind) {
    case 'requested': {
      if (ctx.referral?.consentWithdrawn) return requestedSummaryAfterErasure;
      const kind = fact.referralType === common.ReferralType.REFERRAL_TYPE_TRANSFER ? 'Transfer' : 'Referral';
      const from = fact.by ? ` by ${name(fact.by)}` : '';
      const facts = ctx.referral?.municipality ? ` (${ctx.referral.municipality}, ${common.ageGroupToJSON(ctx.referral.ageGroup)})` : '';
      return `${kind} to ${purposeWords(fact.purpose)} requested${from}${facts}`;
    }
    case 'closed-on-arrival':
      return 'Referral requested under a consent already withdrawn; not routed';
    case 'skipped':
      return `Skipped ${fact.provider}: ${fact.reason}`;
    case 'routed':
      return `${fact.reRouted ? 'Decline confirmed; re-routed to' : 'Routed to'} ${name(fact.provider)} (${fact.reason === 'preferred' ? "newcomer's choice" : 'cooperation agreement'})`;
    case 'unroutable':
      return `No provider found: ${fact.reason}`;
    case 'withdrawn-by-referrer':
      return `Referral withdrawn by ${name(fact.by)}`;
    case 'escalated':
      return `Referral expired: ${escalationNote(name(fact.provider))}`;
    case 'consent-withdrawn':
      return `Consent withdrawn (at ${name(fact.receivedBy)}); ${fact.closed} referral(s) closed; erasure requested from ${fact.asked.map(name).join(', ') || 'no other agency'}`;
    case 'erasure-confirmed': {
      const erased = fact.erased.map((c) => categoryKey(c)).join(', ') || 'nothing held';
      const kept = fact.retained.length ? `kept ${fact.retained.map((r) => `${categoryKey(r.category)} (${r.statute})`).join(', ')}` : 'kept nothing';
      return `Erasure confirmed by ${name(fact.by)}: erased ${erased}; ${kept}`;
    }
    case 'received':
      return `Waiting in the inbox of ${name(fact.provider)}`;
    case 'accepted':
      return `Accepted by ${name(fact.provider)}`;
    case 'declined':
      return `Declined by ${name(fact.provider)}: ${common.declineReasonToJSON(fact.reason)}`;
    case 'completed':
      return `Completed by ${name(fact.provider)}: ${common.referralOutcomeToJSON(fact.outcome)}`;
    case 'data-fetched':
      return `Consented data (${fact.categories.map((c) => lower(common.dataCategoryToJSON(c), 'DATA_CATEGORY_')).join(', ')}) fetched from ${fact.owner}`;
    case 'first-contact':
      return `First counselling contact on ${fact.date} (${lower(common.contactChannelToJSON(fact.channel), 'CONTACT_CHANNEL_')})`;
    case 'jc-registered':
      return `Registered as a customer of ${name(fact.jobCentre)}`;
    case 'jc-funding': {
      const course = `language course ${jcLevel(fact.assessedLevel)} → ${jcLevel(fact.targetLevel)}`;
      return `Funding decided: ${fact.decision === 1 ? `${course} funded, starting ${fact.courseStart}` : `${course} not funded (${fact.refusalReason})`}`;
    }
    case 'jc-plan': {
      const partners = fact.partners.length ? `; partners: ${fact.partners.join(', ')}` : '';
      return `Cooperation plan v${fact.version} agreed on ${fact.planDate}: ${fact.goalCount} goal(s), ${fact.stepCount} step(s) due ${fact.firstDueDate}–${fact.lastDueDate}${partners}`;
    }
    case 'jc-placement':
      return `Placement recorded: ${jcPlacement(fact.type)} from ${fact.startDate}${fact.endDate ? ` to ${fact.endDate}` : ''}`;
    case 'jc-closed':
      return `Job centre case closed on ${fact.closedOn}: ${jcOutcome(fact.outcome)}`;
  }
}

/** Also the note of the status change the referrer receives. */
export const escalationNote = (providerName: string) => `not answered by ${providerName} in time; escalated to the coordination`;

/** A stored step's text: rendered from its fact, or (a desk step, a row from before facts) as stored. */
export function stepText(row: { kind: string; facts: unknown; summary: string; event_type: string }, ctx: RenderContext): string {
  // A referral's request under a consent since withdrawn reads as erased, whoever wrote the step.
  if (row.event_type === 'ReferralRequested' && row.kind !== 'closed-on-arrival' && ctx.referral?.consentWithdrawn) return requestedSummaryAfterErasure;
  if (!row.kind) return row.summary;
  return renderFact({ ...(row.facts as object), kind: row.kind } as TimelineFact, ctx);
}
