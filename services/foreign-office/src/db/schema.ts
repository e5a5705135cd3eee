import type { Generated } from 'kysely';

// One interface per table; the foreign office's database is its own (no other service reads it).

export interface NewcomerTable {
  newcomer_id: string;
  case_ref: string;
  given_names: string;
  family_name: string;
  birth_date: string;
  nationality: string;
  languages: string[];
  municipality: string;
  residence_status: number;
  registered_at: Generated<Date>;
}

export interface ConsentTable {
  consent_id: string;
  newcomer_id: string;
  recipients: string[];
  purposes: number[];
  data_categories: number[];
  expires_at: Date | null;
  text_version: string;
  language: string;
  interpreter_used: boolean;
  granted_at: Generated<Date>;
  withdrawn_at: Date | null;
}

export interface ReferralTable {
  referral_id: string;
  newcomer_id: string;
  case_ref: string;
  consent_id: string;
  purpose: number;
  status: number;
  provider_id: string | null;
  decline_reason: number;
  preferred_provider_id: string | null;
  requested_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** The ReferralRequested event in the outbox, sent again while the hub has not answered. */
  request_event_id: string | null;
  resent_at: Date | null;
  resent_count: Generated<number>;
}

/** Where each referral of this office's newcomers is (its own and onward ones), as the hub reports it. */
export interface ReferralRecipientTable {
  referral_id: string;
  case_ref: string;
  referrer_agency_id: string;
  /** '' while the referral is with nobody (requested, unroutable). */
  recipient_agency_id: string;
  purpose: number;
  status: number;
  updated_at: Generated<Date>;
}

/** Every disclosure of personal data to another agency, granted or refused. */
export interface DataAccessLogTable {
  id: Generated<number>;
  at: Generated<Date>;
  caller_agency_id: string;
  case_ref: string;
  purpose: number;
  categories: number[];
  legal_basis: string | null;
  outcome: 'granted' | 'denied';
  /** The flow table row checked (null when none matched). */
  flow_id: string | null;
}

/** A withdrawn consent (Art. 7(3) GDPR): where the newcomer withdrew, and whom the office had told. */
export interface ConsentWithdrawalTable {
  consent_id: string;
  received_by_agency_id: string;
  reason: string | null;
  withdrawn_at: Date;
  recipients_known: string[];
  /** From data_access_log's sequence, taken under the consent's row lock: later than every granted disclosure. */
  access_log_position: Generated<number>;
}

export interface ForeignOfficeDb {
  newcomer: NewcomerTable;
  consent: ConsentTable;
  referral: ReferralTable;
  referral_recipient: ReferralRecipientTable;
  data_access_log: DataAccessLogTable;
  consent_withdrawal: ConsentWithdrawalTable;
}
