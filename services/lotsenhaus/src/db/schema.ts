import type { ColumnType, Generated } from 'kysely';
import type { ReferralState } from '../domain/referral-lifecycle.js';

// The hub keeps no personal data beyond pseudonymous case references and the routing facts
// (municipality, age group, and the languages spoken where the consent grants them).

export interface CaseIndexTable {
  case_ref: string;
  status: number;
  current_agency_id: string;
  referral_id: string;
  municipality: string;
  age_group: number;
  opened_at: Date;
  updated_at: Date;
  escalated: Generated<boolean>;
}

/** Routings sent again because the recipient never reported the referral received. */
export interface RoutingFollowUpTable {
  referral_id: string;
  /** The routing sent again (a re-routing is another event, and starts the count anew). */
  routed_event_id: string;
  resent_at: Date;
  resent_count: number;
}

/** A column with a default: optional on insert. */
type WithDefaults<T, K extends keyof T> = Omit<T, K> & { [P in K]: Generated<T[P]> };

/** The referral's state as the lifecycle knows it (domain/referral-lifecycle.ts), one column a field. */
export type HubReferralTable = WithDefaults<ReferralState, 'type' | 'sender_type' | 'recipient_type' | 'owner_agency_id' | 'declined_by' | 'outcome' | 'languages'>;

export interface ProviderCapacityTable {
  provider_id: string;
  /** common.v1.CapacityKind */
  kind: number;
  free: number;
  changed_at: Date;
}

export interface TimelineEntryTable {
  seq: Generated<number>;
  event_id: string;
  case_ref: string;
  referral_id: string;
  event_type: string;
  agency_id: string;
  occurred_at: Date;
  recorded_at: Generated<Date>;
  trace_id: string;
  /** The step's text as stored: a desk step's, or a hub step's from before facts (empty otherwise). */
  summary: Generated<string>;
  /** The kind of a fact (domain/timeline-facts.ts); empty where the step is stored as text. */
  kind: Generated<string>;
  /** The fact's structured, non-personal fields; the text is rendered when read. */
  facts: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface ConsentWithdrawalTable {
  consent_id: string;
  case_ref: string;
  owner_agency_id: string;
  received_by_agency_id: string;
  withdrawn_at: Date;
  recorded_at: Generated<Date>;
}

/** What a recipient keeps because a statute obliges it to: { category, statute }. */
export interface RetainedJson {
  category: number;
  statute: string;
}

/** One recipient's erasure after a withdrawal; open until it confirms. */
export interface ErasureRequestTable {
  consent_id: string;
  recipient_agency_id: string;
  case_ref: string;
  requested_at: Date;
  confirmed_at: Date | null;
  erased_categories: Generated<number[]>;
  retained: ColumnType<RetainedJson[], string | undefined, string>;
}

export interface HubDb {
  case_index: CaseIndexTable;
  hub_referral: HubReferralTable;
  timeline_entry: TimelineEntryTable;
  routing_follow_up: RoutingFollowUpTable;
  consent_withdrawal: ConsentWithdrawalTable;
  erasure_request: ErasureRequestTable;
  provider_capacity: ProviderCapacityTable;
}
