import type { Generated, Kysely, Selectable } from 'kysely';

// The tables of the receiving and referring side. This module owns them and their migrations
// (see migrations.ts); a service names its inbox table and may add columns of its own beside these.

/** A referral the hub routed to this agency; the service names the table. */
export interface ReceivedReferralTable {
  referral_id: string;
  case_ref: string;
  referrer_agency_id: string;
  purpose: number;
  age_group: number;
  consent_id: string;
  /** The service's own status enum (…_PENDING, …_ACCEPTED, …). */
  status: number;
  /** common.v1.DeclineReason once declined. */
  decline_reason: Generated<number>;
  received_at: Generated<Date>;
  decided_at: Date | null;
  /** common.v1.ReferralOutcome once completed. */
  outcome: Generated<number>;
  /** The agency holding the newcomer's data, as the hub names it; '' when it did not. */
  owner_agency_id: Generated<string>;
}

/** A referral this agency requested (referring on), as the hub reports it. */
export interface OutgoingReferralTable {
  referral_id: string;
  case_ref: string;
  source_referral_id: string;
  consent_id: string;
  purpose: number;
  type: number;
  recipient_type: string;
  /** common.v1.ReferralStatus, as the hub reports it. */
  status: number;
  provider_id: string | null;
  requested_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** Personal data received from the owning agency under a consent; erased when the basis goes. */
export interface NewcomerRecordTable {
  referral_id: string;
  case_ref: string;
  owner_agency_id: string;
  consent_id: string;
  legal_basis: string;
  categories: number[];
  given_names: string | null;
  family_name: string | null;
  birth_date: string | null;
  nationality: string | null;
  languages: string[] | null;
  municipality: string | null;
  residence_status: string | null;
  fetched_at: Generated<Date>;
}

export type ReceivedReferralRow = Selectable<ReceivedReferralTable>;
export type NewcomerRecordRow = Selectable<NewcomerRecordTable>;
export type OutgoingReferralRow = Selectable<OutgoingReferralTable>;

/**
 * How the shared code sees a service's database: its inbox under the name `received_referral`
 * (the service's real table name is substituted, see inboxTable), `outgoing_referral` and
 * `newcomer_record` (the copies received under consent).
 */
export interface WorkflowDb {
  received_referral: ReceivedReferralTable;
  outgoing_referral: OutgoingReferralTable;
  newcomer_record: NewcomerRecordTable;
}

/** The service's database (or transaction), seen through the workflow's columns. */
export function workflowDb(db: Kysely<any>): Kysely<WorkflowDb> {
  return db as Kysely<WorkflowDb>;
}

/**
 * A service's inbox table name, typed as the workflow's: queries are checked against the shared
 * columns, and run against the service's table.
 */
export function inboxTable(name: string): 'received_referral' {
  return name as 'received_referral';
}
