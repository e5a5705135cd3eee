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
}

export interface ForeignOfficeDb {
  newcomer: NewcomerTable;
  consent: ConsentTable;
  referral: ReferralTable;
  data_access_log: DataAccessLogTable;
}
