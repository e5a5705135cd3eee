import { directory as dir, lotsenhaus } from '@lotse/contracts';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { hubReads } from '../db/hub-reads.js';
import type { HubDb } from '../db/schema.js';
import type { DirectoryContactTable, DirectoryDb, DirectoryLocationTable, DirectoryOfferTable, DirectoryOrganizationTable, DirectoryProcedureTable } from './schema.js';

// Reading and writing the directory's tables. The API validates and checks ownership before it
// calls these; the demo seed and the HSDS import go through the API's same checks.

type Db = Kysely<DirectoryDb> | Transaction<DirectoryDb>;
const { EntryKind } = dir;

export const tableOf = {
  [EntryKind.ENTRY_KIND_ORGANIZATION]: 'directory_organization',
  [EntryKind.ENTRY_KIND_OFFER]: 'directory_offer',
  [EntryKind.ENTRY_KIND_LOCATION]: 'directory_location',
  [EntryKind.ENTRY_KIND_CONTACT]: 'directory_contact',
  [EntryKind.ENTRY_KIND_PROCEDURE]: 'directory_procedure',
} as const;
export type EntryTable = (typeof tableOf)[keyof typeof tableOf];

export function toOrganization(row: Selectable<DirectoryOrganizationTable>): dir.DirectoryOrganization {
  return dir.DirectoryOrganization.fromPartial({
    id: row.id,
    name: row.name,
    description: row.description,
    email: row.email,
    website: row.website,
    ownerAgencyId: row.owner_agency_id,
    lastVerifiedAt: row.last_verified_at,
  });
}

export function toOffer(row: Selectable<DirectoryOfferTable>, capacity: lotsenhaus.Capacity[] = []): dir.DirectoryOffer {
  return dir.DirectoryOffer.fromPartial({
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    description: row.description,
    targetGroup: row.target_group,
    minimumAge: row.minimum_age,
    maximumAge: row.maximum_age,
    languagesOffered: row.languages_offered,
    freeOfCharge: row.free_of_charge,
    feesDescription: row.fees_description,
    eligibility: row.eligibility,
    applicationProcess: row.application_process,
    requiredDocuments: row.required_documents,
    municipalitiesServed: row.municipalities_served,
    providerAgencyId: row.provider_agency_id,
    locationIds: row.location_ids,
    url: row.url,
    email: row.email,
    lastVerifiedAt: row.last_verified_at,
    capacity,
  });
}

export function toLocation(row: Selectable<DirectoryLocationTable>): dir.DirectoryLocation {
  return dir.DirectoryLocation.fromPartial({
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    street: row.street,
    postalCode: row.postal_code,
    city: row.city,
    accessibility: row.accessibility,
    wheelchairAccessible: row.wheelchair_accessible,
    openingHours: row.opening_hours,
    lastVerifiedAt: row.last_verified_at,
  });
}

export function toContact(row: Selectable<DirectoryContactTable>): dir.DirectoryContact {
  return dir.DirectoryContact.fromPartial({
    id: row.id,
    organizationId: row.organization_id,
    offerId: row.offer_id ?? '',
    role: row.role,
    personName: row.person_consented ? (row.person_name ?? '') : '',
    personConsented: row.person_consented,
    email: row.email,
    phone: row.phone,
    lastVerifiedAt: row.last_verified_at,
  });
}

export function toProcedure(row: Selectable<DirectoryProcedureTable>): dir.DirectoryProcedure {
  return dir.DirectoryProcedure.fromPartial({
    id: row.id,
    organizationId: row.organization_id,
    offerId: row.offer_id ?? '',
    title: row.title,
    steps: row.steps,
    lastVerifiedAt: row.last_verified_at,
  });
}

/**
 * Organisations with all their entries, by name. With a municipality: only organisations that
 * have an offer serving it (an offer with no municipalities serves the whole region), and of
 * those only the offers that serve it.
 */
export async function readOrganizations(db: Db, filter: { id?: string; municipality?: string } = {}): Promise<dir.DirectoryOrganization[]> {
  let orgQuery = db.selectFrom('directory_organization').selectAll().orderBy('name').orderBy('id');
  if (filter.id) orgQuery = orgQuery.where('id', '=', filter.id);
  const orgs = await orgQuery.execute();
  if (orgs.length === 0) return [];
  const ids = orgs.map((o) => o.id);
  const [offers, locations, contacts, procedures, capacity] = await Promise.all([
    db.selectFrom('directory_offer').selectAll().where('organization_id', 'in', ids).orderBy('name').orderBy('id').execute(),
    db.selectFrom('directory_location').selectAll().where('organization_id', 'in', ids).orderBy('name').orderBy('id').execute(),
    db.selectFrom('directory_contact').selectAll().where('organization_id', 'in', ids).orderBy('role').orderBy('id').execute(),
    db.selectFrom('directory_procedure').selectAll().where('organization_id', 'in', ids).orderBy('title').orderBy('id').execute(),
    // The hub's record of what providers published with SetCapacity, through the hub's read port.
    // (DirectoryDb is HubDb plus the directory's tables.)
    hubReads.capacity(db as unknown as Kysely<HubDb>),
  ]);
  const capacityOf = (providerId: string) =>
    providerId ? capacity.filter((c) => c.provider_id === providerId).map((c) => lotsenhaus.Capacity.fromPartial({ kind: c.kind, free: c.free, changedAt: c.changed_at })) : [];
  const serves = (o: Selectable<DirectoryOfferTable>) => !filter.municipality || o.municipalities_served.length === 0 || o.municipalities_served.includes(filter.municipality);
  return orgs
    .map((org) => {
      const message = toOrganization(org);
      message.offers = offers.filter((o) => o.organization_id === org.id && serves(o)).map((o) => toOffer(o, capacityOf(o.provider_agency_id)));
      message.locations = locations.filter((l) => l.organization_id === org.id).map(toLocation);
      message.contacts = contacts.filter((c) => c.organization_id === org.id).map(toContact);
      message.procedures = procedures.filter((p) => p.organization_id === org.id).map(toProcedure);
      return message;
    })
    .filter((o) => !filter.municipality || o.offers.length > 0);
}

/** The owner of an organisation, or undefined if there is none with that id. */
export async function ownerOf(db: Db, organizationId: string): Promise<string | undefined> {
  const row = await db.selectFrom('directory_organization').select('owner_agency_id').where('id', '=', organizationId).executeTakeFirst();
  return row?.owner_agency_id;
}

export interface StaleRow {
  kind: dir.EntryKind;
  id: string;
  organizationId: string;
  ownerAgencyId: string;
  label: string;
  lastVerifiedAt: Date;
  remindedAt: Date | null;
}

/** Entries last verified before `before`, oldest first. */
export async function readStale(db: Db, before: Date): Promise<StaleRow[]> {
  const org = await db
    .selectFrom('directory_organization')
    .select(['id', 'id as organization_id', 'owner_agency_id', 'name as label', 'last_verified_at', 'reminded_at'])
    .where('last_verified_at', '<', before)
    .execute();
  const children = async (table: Exclude<EntryTable, 'directory_organization'>, label: 'name' | 'role' | 'title') =>
    db
      .selectFrom(`${table} as e` as 'directory_offer as e')
      .innerJoin('directory_organization as o', 'o.id', 'e.organization_id')
      .select(['e.id', 'e.organization_id', 'o.owner_agency_id', `e.${label} as label` as 'e.name as label', 'e.last_verified_at', 'e.reminded_at'])
      .where('e.last_verified_at', '<', before)
      .execute();
  const rows: StaleRow[] = [];
  const add = (kind: dir.EntryKind, list: { id: string; organization_id: string; owner_agency_id: string; label: string; last_verified_at: Date; reminded_at: Date | null }[]) =>
    rows.push(...list.map((r) => ({ kind, id: r.id, organizationId: r.organization_id, ownerAgencyId: r.owner_agency_id, label: r.label, lastVerifiedAt: r.last_verified_at, remindedAt: r.reminded_at })));
  add(EntryKind.ENTRY_KIND_ORGANIZATION, org);
  add(EntryKind.ENTRY_KIND_OFFER, await children('directory_offer', 'name'));
  add(EntryKind.ENTRY_KIND_LOCATION, await children('directory_location', 'name'));
  add(EntryKind.ENTRY_KIND_CONTACT, await children('directory_contact', 'role'));
  add(EntryKind.ENTRY_KIND_PROCEDURE, await children('directory_procedure', 'title'));
  return rows.sort((a, b) => a.lastVerifiedAt.getTime() - b.lastVerifiedAt.getTime() || a.id.localeCompare(b.id));
}

/** The cut-off for "not confirmed within N months", in calendar months. */
export function staleBefore(now: Date, months: number): Date {
  return addMonths(now, -months);
}

export function addMonths(at: Date, months: number): Date {
  const d = new Date(at);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d;
}
