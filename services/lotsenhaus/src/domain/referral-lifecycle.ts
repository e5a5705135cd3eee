// The referral lifecycle at the hub, as data: the state of one referral, the lifecycle events
// that change it, `evolve`, and what a decision asks the world to do (publish, put on the
// timeline, change the case index). `decide` (referral-decider.ts) never touches a database.
import { common, type events } from '@lotse/contracts';
import type { TimelineFact } from './timeline-facts.js';

const { ReferralStatus: S } = common;

/** One referral as the hub holds it (the columns of hub_referral). */
export interface ReferralState {
  referral_id: string;
  case_ref: string;
  referrer_agency_id: string;
  provider_id: string | null;
  status: number;
  purpose: number;
  consent_id: string;
  consented_recipients: string[];
  municipality: string;
  age_group: number;
  preferred_provider_id: string | null;
  decline_reason: number;
  requested_at: Date;
  updated_at: Date;
  /** common.v1.ReferralType */
  type: number;
  sender_type: string;
  recipient_type: string;
  /** The agency that holds the newcomer's data (recipients fetch from it). */
  owner_agency_id: string;
  /** Providers that declined this referral; it is never routed to them again. */
  declined_by: string[];
  /** common.v1.ReferralOutcome, once completed. */
  outcome: number;
  /** When an unanswered (pending) referral escalates. */
  expires_at: Date | null;
  escalated_at: Date | null;
  /** Languages the newcomer speaks (routing fact, ISO 639); empty when not consented or erased. */
  languages: string[];
}

/** Referral states a withdrawal closes. */
export const openStatuses: readonly number[] = [S.REFERRAL_STATUS_REQUESTED, S.REFERRAL_STATUS_PENDING, S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_COUNSELLING_STARTED];

export type LifecycleEvent =
  | { type: 'Requested'; referral: ReferralState }
  | { type: 'Routed'; providerId: string; at: Date; expiresAt: Date }
  | { type: 'Unroutable'; at: Date }
  | { type: 'Advanced'; status: number; at: Date; declineReason: number }
  | { type: 'OutcomeRecorded'; outcome: number }
  | { type: 'Declined'; by: string; reason: number }
  | { type: 'Withdrawn'; at: Date }
  | { type: 'Escalated'; at: Date }
  | { type: 'RoutingFactsErased' };

export class UnknownReferralError extends Error {}

/** The referral after one lifecycle event. */
export function evolve(state: ReferralState | undefined, event: LifecycleEvent): ReferralState {
  if (event.type === 'Requested') return event.referral;
  if (!state) throw new UnknownReferralError(`${event.type} of a referral never requested`);
  switch (event.type) {
    case 'Routed':
      return { ...state, provider_id: event.providerId, status: S.REFERRAL_STATUS_PENDING, updated_at: event.at, expires_at: event.expiresAt, escalated_at: null };
    case 'Unroutable':
      return { ...state, provider_id: null, status: S.REFERRAL_STATUS_UNROUTABLE, updated_at: event.at, expires_at: null, escalated_at: null };
    case 'Advanced':
      return { ...state, status: event.status, decline_reason: event.declineReason, updated_at: event.at };
    case 'OutcomeRecorded':
      return { ...state, outcome: event.outcome };
    case 'Declined':
      return { ...state, decline_reason: event.reason, declined_by: [...state.declined_by, event.by] };
    case 'Withdrawn':
      return { ...state, status: S.REFERRAL_STATUS_WITHDRAWN, updated_at: event.at };
    case 'Escalated':
      return { ...state, escalated_at: event.at };
    case 'RoutingFactsErased':
      return { ...state, municipality: '', age_group: 0, languages: [] };
  }
}

/** A message for another agency, named once: the tag is the event type it goes out as. */
export type Outgoing =
  | { type: 'ReferralRouted'; message: events.ReferralRouted; audience: string }
  | { type: 'ReferralStatusChanged'; message: events.ReferralStatusChanged; audience: string }
  | { type: 'ReferralWithdrawn'; message: events.ReferralWithdrawn; audience: string }
  | { type: 'ErasureRequested'; message: events.ErasureRequested; audience: string };

/** A step for the case timeline; its event id is the incoming event's, or that of one published. */
export interface TimelineStep {
  eventId: string | { published: number };
  caseRef: string;
  referralId: string;
  eventType: string;
  agencyId: string;
  occurredAt: Date;
  fact: TimelineFact;
}

/** A change of the case list's row for the case (kept only while it is about this referral, except on insert). */
export interface CaseIndexChange {
  caseRef: string;
  referralId: string;
  /** upsert: routing; insert-if-absent: a referral closed on arrival; update: only the case's current referral. */
  mode: 'upsert' | 'insert-if-absent' | 'update';
  set: { status?: number; currentAgencyId?: string; municipality?: string; ageGroup?: number; escalated?: boolean; updatedAt?: Date };
}

export type RefusalReason =
  | 'foreign-producer'
  | 'duplicate'
  | 'unknown-referral'
  | 'not-routed-to-producer'
  | 'not-referrer'
  | 'not-open'
  | 'not-pending'
  | 'not-due'
  | 'no-outcome'
  | 'no-request';

export interface Decision {
  /** Why nothing happens; `warning` is logged (no personal data in it). */
  refused?: { reason: RefusalReason; warning?: string };
  changes: { referralId: string; event: LifecycleEvent }[];
  caseIndex: CaseIndexChange[];
  publish: Outgoing[];
  timeline: TimelineStep[];
  /** A routing decision read the routing facts: on record in the audit log. */
  auditRouting?: { request: events.ReferralRequested; routedTo: string | null };
}

export const emptyDecision = (): Decision => ({ changes: [], caseIndex: [], publish: [], timeline: [] });
export const refuse = (reason: RefusalReason, warning?: string): Decision => ({ ...emptyDecision(), refused: { reason, ...(warning && { warning }) } });

/** Each referral's state after the decision's changes. */
export function evolveAll(before: ReadonlyMap<string, ReferralState>, changes: Decision['changes']): Map<string, ReferralState> {
  const after = new Map<string, ReferralState>();
  for (const { referralId, event } of changes) after.set(referralId, evolve(after.get(referralId) ?? before.get(referralId), event));
  return after;
}
