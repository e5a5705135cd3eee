import type { NewcomerRecordTable, OutgoingReferralTable, ReceivedReferralTable } from '@lotse/referrals';
import type { ColumnType, Generated } from 'kysely';

/** A referral the hub routed to this provider: the shared workflow's columns, and the first contact. */
export interface InboxReferralTable extends ReceivedReferralTable {
  /** migration_services.v1.InboxStatus */
  status: number;
  first_contact_date: string | null;
  contact_channel: Generated<number>;
  interpreter_used: Generated<boolean>;
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
  received_referral: InboxReferralTable;
  newcomer_record: NewcomerRecordTable;
  erasure: ErasureTable;
  outgoing_referral: OutgoingReferralTable;
}
