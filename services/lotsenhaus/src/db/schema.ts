import type { ColumnType, Generated } from 'kysely';

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

export interface HubReferralTable {
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
  type: Generated<number>;
  sender_type: Generated<string>;
  recipient_type: Generated<string>;
  /** The agency that holds the newcomer's data (recipients fetch from it). */
  owner_agency_id: Generated<string>;
  /** Providers that declined this referral; it is never routed to them again. */
  declined_by: Generated<string[]>;
  /** common.v1.ReferralOutcome, once completed. */
  outcome: Generated<number>;
  /** When an unanswered (pending) referral escalates. */
  expires_at: Date | null;
  escalated_at: Date | null;
  /** Languages the newcomer speaks (routing fact, ISO 639); empty when not consented or erased. */
  languages: Generated<string[]>;
}

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
