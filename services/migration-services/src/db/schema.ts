import type { ColumnType, Generated } from 'kysely';

export interface InboxReferralTable {
  referral_id: string;
  case_ref: string;
  referrer_agency_id: string;
  purpose: number;
  age_group: number;
  consent_id: string;
  /** migration_services.v1.InboxStatus */
  status: number;
  decline_reason: number;
  received_at: Generated<Date>;
  decided_at: Date | null;
  first_contact_date: string | null;
  contact_channel: number;
  interpreter_used: boolean;
  /** common.v1.ReferralOutcome once completed. */
  outcome: Generated<number>;
  /** The agency holding the newcomer's data; '' = the referrer. */
  owner_agency_id: Generated<string>;
}

/** A referral this provider requested (referring on). */
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

/** What a statute obliged this provider to keep after an erasure: { category, statute }. */
export interface RetainedJson {
  category: number;
  statute: string;
}

/** An erasure after a consent was withdrawn; confirmed to the hub once it asked. */
export interface ErasureTable {
  consent_id: string;
  case_ref: string;
  owner_agency_id: string;
  erased_categories: number[];
  retained: ColumnType<RetainedJson[], string | undefined, string>;
  erased_at: Date;
  withdrawal_taken_here: Generated<boolean>;
  requested_at: Date | null;
  confirmed_at: Date | null;
}

export interface MigrationServicesDb {
  inbox_referral: InboxReferralTable;
  newcomer_record: NewcomerRecordTable;
  erasure: ErasureTable;
  outgoing_referral: OutgoingReferralTable;
}
