import type { ColumnType } from 'kysely';
import type { HubDb } from '../db/schema.js';

// The partner directory's tables (migration 0201-directory). Not case data: organisations,
// their offers, locations, contacts (roles; a person only with consent) and procedures.

interface Entry {
  id: string;
  last_verified_at: Date;
  reminded_at: Date | null;
}

export interface DirectoryOrganizationTable extends Entry {
  owner_agency_id: string;
  name: string;
  description: string;
  email: string;
  website: string;
}

export interface OpeningHoursJson {
  weekday: number;
  opensAt: string;
  closesAt: string;
}

export interface DirectoryLocationTable extends Entry {
  organization_id: string;
  name: string;
  street: string;
  postal_code: string;
  city: string;
  accessibility: string;
  wheelchair_accessible: boolean;
  opening_hours: ColumnType<OpeningHoursJson[], string, string>;
}

export interface DirectoryOfferTable extends Entry {
  organization_id: string;
  name: string;
  description: string;
  target_group: string;
  minimum_age: number;
  maximum_age: number;
  languages_offered: string[];
  free_of_charge: boolean;
  fees_description: string;
  eligibility: string;
  application_process: string;
  required_documents: string[];
  municipalities_served: string[];
  provider_agency_id: string;
  location_ids: string[];
  url: string;
  email: string;
}

export interface DirectoryContactTable extends Entry {
  organization_id: string;
  offer_id: string | null;
  role: string;
  person_name: string | null;
  person_consented: boolean;
  email: string;
  phone: string;
}

export interface DirectoryProcedureTable extends Entry {
  organization_id: string;
  offer_id: string | null;
  title: string;
  steps: string[];
}

export interface DirectoryTables {
  directory_organization: DirectoryOrganizationTable;
  directory_location: DirectoryLocationTable;
  directory_offer: DirectoryOfferTable;
  directory_contact: DirectoryContactTable;
  directory_procedure: DirectoryProcedureTable;
}

export type DirectoryDb = HubDb & DirectoryTables;
