import { directory as dir } from '@lotse/contracts';
import { NotFoundError, once, PermissionDeniedError, Violations, type AsyncHandlers, type CallContext } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { HubDb } from '../db/schema.js';
import type { DirectoryDb } from './schema.js';
import { ownerOf, readOrganizations, readStale, staleBefore, tableOf, toContact, toLocation, toOffer, toOrganization, toProcedure } from './store.js';

const S = dir.DirectoryServiceService;
const { EntryKind } = dir;
type Trx = Transaction<DirectoryDb>;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uuidExpected = 'a UUID (lower-case hex, 8-4-4-4-12)';
const emailPattern = /^[^\s@<>()[\],;:"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const urlPattern = /^https?:\/\/[^\s<>"]{3,300}$/;
const phonePattern = /^\+?[0-9 ()/-]{4,30}$/;
const languagePattern = /^[a-z]{2}$/;
const timePattern = /^([01]\d|2[0-3]):[0-5]\d$/;
const postalPattern = /^\d{5}$/;
const maxList = 30;

export interface DirectoryApiOptions {
  /** Municipality codes of the region (the routing directory's); an offer may serve only these. */
  municipalities: readonly string[];
  /** DIRECTORY_STALE_MONTHS: an entry not confirmed for this long is stale. */
  staleMonths: number;
}

function id(v: Violations, field: string, value: string, required = false): string {
  return v.pattern(field, value, uuidPattern, uuidExpected, { required });
}

function list(v: Violations, field: string, values: string[], check: (f: string, value: string) => string): string[] {
  if (values.length > maxList) v.add(field, `must have at most ${maxList} entries`);
  return values.slice(0, maxList).map((value, i) => check(`${field}[${i}]`, value));
}

function optional(v: Violations, field: string, value: string, regex: RegExp, expected: string): string {
  return v.pattern(field, value, regex, expected, { required: false });
}

export function validateOrganization(req: dir.UpsertOrganizationRequest) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const o = req.organization;
  if (!o) v.add('organization', 'must be set');
  const input = {
    id: id(v, 'organization.id', o?.id ?? ''),
    name: v.text('organization.name', o?.name, { max: 200 }),
    description: v.text('organization.description', o?.description, { max: 2000, required: false }),
    email: optional(v, 'organization.email', o?.email ?? '', emailPattern, 'an e-mail address'),
    website: optional(v, 'organization.website', o?.website ?? '', urlPattern, 'an http(s) URL'),
  };
  v.throwIfAny();
  return { requestId, ...input };
}

export function validateOffer(req: dir.UpsertOfferRequest, municipalities: readonly string[]) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const o = req.offer ?? dir.DirectoryOffer.fromPartial({});
  if (!req.offer) v.add('offer', 'must be set');
  const f = (name: string) => `offer.${name}`;
  const input = {
    id: id(v, f('id'), o.id),
    organizationId: id(v, f('organization_id'), o.organizationId, true),
    name: v.text(f('name'), o.name, { max: 200 }),
    description: v.text(f('description'), o.description, { max: 2000, required: false }),
    targetGroup: v.text(f('target_group'), o.targetGroup, { max: 300, required: false }),
    minimumAge: o.minimumAge,
    maximumAge: o.maximumAge,
    languagesOffered: list(v, f('languages_offered'), o.languagesOffered, (field, value) => v.pattern(field, value, languagePattern, 'an ISO 639-1 code of two lower-case letters')),
    freeOfCharge: o.freeOfCharge,
    feesDescription: v.text(f('fees_description'), o.feesDescription, { max: 500, required: false }),
    eligibility: v.text(f('eligibility'), o.eligibility, { max: 1000, required: false }),
    applicationProcess: v.text(f('application_process'), o.applicationProcess, { max: 1000, required: false }),
    requiredDocuments: list(v, f('required_documents'), o.requiredDocuments, (field, value) => v.text(field, value, { max: 500 })),
    municipalitiesServed: list(v, f('municipalities_served'), o.municipalitiesServed, (field, value) => {
      if (!municipalities.includes(value)) v.add(field, `must be a municipality code of the region (${municipalities.join(', ')})`);
      return value;
    }),
    providerAgencyId: optional(v, f('provider_agency_id'), o.providerAgencyId, /^[a-z0-9][a-z0-9-]{1,62}$/, 'an agency id of the network'),
    locationIds: list(v, f('location_ids'), o.locationIds, (field, value) => id(v, field, value, true)),
    url: optional(v, f('url'), o.url, urlPattern, 'an http(s) URL'),
    email: optional(v, f('email'), o.email, emailPattern, 'an e-mail address'),
  };
  if (o.maximumAge > 120) v.add(f('maximum_age'), 'must be at most 120');
  if (o.minimumAge > 120) v.add(f('minimum_age'), 'must be at most 120');
  if (o.maximumAge !== 0 && o.minimumAge > o.maximumAge) v.add(f('minimum_age'), 'must not be above maximum_age');
  if (o.freeOfCharge && input.feesDescription) v.add(f('fees_description'), 'must be empty for an offer free of charge');
  v.throwIfAny();
  return { requestId, ...input };
}

export function validateLocation(req: dir.UpsertLocationRequest) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const l = req.location ?? dir.DirectoryLocation.fromPartial({});
  if (!req.location) v.add('location', 'must be set');
  const f = (name: string) => `location.${name}`;
  const input = {
    id: id(v, f('id'), l.id),
    organizationId: id(v, f('organization_id'), l.organizationId, true),
    name: v.text(f('name'), l.name, { max: 200 }),
    street: v.text(f('street'), l.street, { max: 200 }),
    postalCode: v.pattern(f('postal_code'), l.postalCode, postalPattern, 'a German postal code of five digits'),
    city: v.text(f('city'), l.city, { max: 100 }),
    accessibility: v.text(f('accessibility'), l.accessibility, { max: 1000, required: false }),
    wheelchairAccessible: l.wheelchairAccessible,
    openingHours: l.openingHours.slice(0, maxList).map((h, i) => {
      const at = (name: string) => f(`opening_hours[${i}].${name}`);
      if (h.weekday < 1 || h.weekday > 7) v.add(at('weekday'), 'must be an ISO weekday, 1 (Monday) to 7 (Sunday)');
      const opensAt = v.pattern(at('opens_at'), h.opensAt, timePattern, 'a time as HH:MM');
      const closesAt = v.pattern(at('closes_at'), h.closesAt, timePattern, 'a time as HH:MM');
      if (timePattern.test(opensAt) && timePattern.test(closesAt) && opensAt >= closesAt) v.add(at('closes_at'), 'must be after opens_at');
      return { weekday: h.weekday, opensAt, closesAt };
    }),
  };
  if (l.openingHours.length > maxList) v.add(f('opening_hours'), `must have at most ${maxList} entries`);
  v.throwIfAny();
  return { requestId, ...input };
}

export function validateContact(req: dir.UpsertContactRequest) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const c = req.contact ?? dir.DirectoryContact.fromPartial({});
  if (!req.contact) v.add('contact', 'must be set');
  const f = (name: string) => `contact.${name}`;
  const input = {
    id: id(v, f('id'), c.id),
    organizationId: id(v, f('organization_id'), c.organizationId, true),
    offerId: id(v, f('offer_id'), c.offerId),
    role: v.text(f('role'), c.role, { max: 200 }),
    personName: v.text(f('person_name'), c.personName, { max: 200, required: false }),
    personConsented: c.personConsented,
    email: optional(v, f('email'), c.email, emailPattern, 'an e-mail address'),
    phone: optional(v, f('phone'), c.phone, phonePattern, 'a telephone number (digits, spaces, + ( ) / -)'),
  };
  // Contacts are roles; a private person only where that person agreed to be listed.
  if (input.personName && !c.personConsented) v.add(f('person_name'), "must be empty unless person_consented: a person is listed only with that person's consent");
  if (!input.email && !input.phone) v.add(f('email'), 'or phone must be set: a contact says how to reach it');
  v.throwIfAny();
  return { requestId, ...input };
}

export function validateProcedure(req: dir.UpsertProcedureRequest) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const p = req.procedure ?? dir.DirectoryProcedure.fromPartial({});
  if (!req.procedure) v.add('procedure', 'must be set');
  const f = (name: string) => `procedure.${name}`;
  const input = {
    id: id(v, f('id'), p.id),
    organizationId: id(v, f('organization_id'), p.organizationId, true),
    offerId: id(v, f('offer_id'), p.offerId),
    title: v.text(f('title'), p.title, { max: 200 }),
    steps: list(v, f('steps'), p.steps, (field, value) => v.text(field, value, { max: 500 })),
  };
  if (p.steps.length === 0) v.add(f('steps'), 'must name at least one step');
  v.throwIfAny();
  return { requestId, ...input };
}

/** lotse.lotsenhaus.v1.DirectoryService: everyone reads; each partner edits only its own organisations. */
export function directoryApi(hub: AgencyContext<HubDb>, options: DirectoryApiOptions): AsyncHandlers<typeof S> {
  const rt = hub as unknown as AgencyContext<DirectoryDb>;
  const { db } = rt;

  /** The caller owns the organisation (it must exist). */
  async function requireOwner(trx: Trx, organizationId: string, ctx: CallContext, field: string): Promise<void> {
    const owner = await ownerOf(trx, organizationId);
    if (owner === undefined) throw new NotFoundError(field, organizationId, 'organization');
    if (owner !== ctx.caller.agencyId) throw new PermissionDeniedError(`organization ${organizationId} is kept by ${owner}; ${ctx.caller.agencyId} may edit only its own entries`);
  }

  /** An existing child entry stays with its organisation: an id of another organisation's entry is refused. */
  async function requireSameOrganization(trx: Trx, table: 'directory_offer' | 'directory_location' | 'directory_contact' | 'directory_procedure', entryId: string, organizationId: string, ctx: CallContext, field: string) {
    if (!entryId) return;
    const existing = await trx.selectFrom(table).select('organization_id').where('id', '=', entryId).executeTakeFirst();
    if (!existing || existing.organization_id === organizationId) return;
    await requireOwner(trx, existing.organization_id, ctx, field);
    throw new PermissionDeniedError(`${field}: entry ${entryId} belongs to organization ${existing.organization_id}; an entry cannot move to another organization`);
  }

  /** A referenced offer (field) or referenced locations (field[i]) belong to the same organisation. */
  async function requireOwnEntries(trx: Trx, table: 'directory_offer' | 'directory_location', ids: string[], organizationId: string, field: string) {
    if (ids.length === 0) return;
    const rows = await trx.selectFrom(table).select(['id', 'organization_id']).where('id', 'in', ids).execute();
    ids.forEach((entryId, i) => {
      const row = rows.find((r) => r.id === entryId);
      const what = table === 'directory_offer' ? 'offer' : 'location';
      if (!row || row.organization_id !== organizationId) throw new NotFoundError(what === 'offer' ? field : `${field}[${i}]`, entryId, `${what} of organization ${organizationId} with id`);
    });
  }

  return {
    async listOrganizations(req) {
      const v = new Violations();
      const municipality = req.municipalityCode.trim();
      if (municipality && !options.municipalities.includes(municipality)) v.add('municipality_code', `must be a municipality code of the region (${options.municipalities.join(', ')})`);
      v.throwIfAny();
      return { organizations: await readOrganizations(db, { municipality: municipality || undefined }) };
    },

    async getOrganization(req) {
      const v = new Violations();
      const orgId = id(v, 'id', req.id, true);
      v.throwIfAny();
      const [organization] = await readOrganizations(db, { id: orgId });
      if (!organization) throw new NotFoundError('id', orgId, 'organization');
      return { organization };
    },

    async upsertOrganization(req, ctx) {
      const input = validateOrganization(req);
      return rt.transact((trx) =>
        once(trx, { method: 'UpsertOrganization', requestId: input.requestId, request: req, requestCodec: dir.UpsertOrganizationRequest }, dir.UpsertOrganizationResponse, async () => {
          const now = rt.now();
          const orgId = input.id || uuidv7();
          const owner = await ownerOf(trx, orgId);
          if (owner !== undefined && owner !== ctx.caller.agencyId) throw new PermissionDeniedError(`organization ${orgId} is kept by ${owner}; ${ctx.caller.agencyId} may edit only its own entries`);
          const values = { name: input.name, description: input.description, email: input.email, website: input.website, last_verified_at: now, reminded_at: null };
          const row = await trx
            .insertInto('directory_organization')
            .values({ id: orgId, owner_agency_id: ctx.caller.agencyId, ...values })
            .onConflict((oc) => oc.column('id').doUpdateSet(values))
            .returningAll()
            .executeTakeFirstOrThrow();
          return { organization: toOrganization(row) };
        }),
      );
    },

    async upsertOffer(req, ctx) {
      const input = validateOffer(req, options.municipalities);
      return rt.transact((trx) =>
        once(trx, { method: 'UpsertOffer', requestId: input.requestId, request: req, requestCodec: dir.UpsertOfferRequest }, dir.UpsertOfferResponse, async () => {
          await requireOwner(trx, input.organizationId, ctx, 'offer.organization_id');
          await requireSameOrganization(trx, 'directory_offer', input.id, input.organizationId, ctx, 'offer.id');
          await requireOwnEntries(trx, 'directory_location', input.locationIds, input.organizationId, 'offer.location_ids');
          const values = {
            organization_id: input.organizationId,
            name: input.name,
            description: input.description,
            target_group: input.targetGroup,
            minimum_age: input.minimumAge,
            maximum_age: input.maximumAge,
            languages_offered: input.languagesOffered,
            free_of_charge: input.freeOfCharge,
            fees_description: input.feesDescription,
            eligibility: input.eligibility,
            application_process: input.applicationProcess,
            required_documents: input.requiredDocuments,
            municipalities_served: input.municipalitiesServed,
            provider_agency_id: input.providerAgencyId,
            location_ids: input.locationIds,
            url: input.url,
            email: input.email,
            last_verified_at: rt.now(),
            reminded_at: null,
          };
          const row = await trx
            .insertInto('directory_offer')
            .values({ id: input.id || uuidv7(), ...values })
            .onConflict((oc) => oc.column('id').doUpdateSet(values))
            .returningAll()
            .executeTakeFirstOrThrow();
          return { offer: toOffer(row) };
        }),
      );
    },

    async upsertLocation(req, ctx) {
      const input = validateLocation(req);
      return rt.transact((trx) =>
        once(trx, { method: 'UpsertLocation', requestId: input.requestId, request: req, requestCodec: dir.UpsertLocationRequest }, dir.UpsertLocationResponse, async () => {
          await requireOwner(trx, input.organizationId, ctx, 'location.organization_id');
          await requireSameOrganization(trx, 'directory_location', input.id, input.organizationId, ctx, 'location.id');
          const values = {
            organization_id: input.organizationId,
            name: input.name,
            street: input.street,
            postal_code: input.postalCode,
            city: input.city,
            accessibility: input.accessibility,
            wheelchair_accessible: input.wheelchairAccessible,
            opening_hours: JSON.stringify(input.openingHours),
            last_verified_at: rt.now(),
            reminded_at: null,
          };
          const row = await trx
            .insertInto('directory_location')
            .values({ id: input.id || uuidv7(), ...values })
            .onConflict((oc) => oc.column('id').doUpdateSet(values))
            .returningAll()
            .executeTakeFirstOrThrow();
          return { location: toLocation(row) };
        }),
      );
    },

    async upsertContact(req, ctx) {
      const input = validateContact(req);
      return rt.transact((trx) =>
        once(trx, { method: 'UpsertContact', requestId: input.requestId, request: req, requestCodec: dir.UpsertContactRequest }, dir.UpsertContactResponse, async () => {
          await requireOwner(trx, input.organizationId, ctx, 'contact.organization_id');
          await requireSameOrganization(trx, 'directory_contact', input.id, input.organizationId, ctx, 'contact.id');
          if (input.offerId) await requireOwnEntries(trx, 'directory_offer', [input.offerId], input.organizationId, 'contact.offer_id');
          const values = {
            organization_id: input.organizationId,
            offer_id: input.offerId || null,
            role: input.role,
            person_name: input.personConsented && input.personName ? input.personName : null,
            person_consented: input.personConsented,
            email: input.email,
            phone: input.phone,
            last_verified_at: rt.now(),
            reminded_at: null,
          };
          const row = await trx
            .insertInto('directory_contact')
            .values({ id: input.id || uuidv7(), ...values })
            .onConflict((oc) => oc.column('id').doUpdateSet(values))
            .returningAll()
            .executeTakeFirstOrThrow();
          return { contact: toContact(row) };
        }),
      );
    },

    async upsertProcedure(req, ctx) {
      const input = validateProcedure(req);
      return rt.transact((trx) =>
        once(trx, { method: 'UpsertProcedure', requestId: input.requestId, request: req, requestCodec: dir.UpsertProcedureRequest }, dir.UpsertProcedureResponse, async () => {
          await requireOwner(trx, input.organizationId, ctx, 'procedure.organization_id');
          await requireSameOrganization(trx, 'directory_procedure', input.id, input.organizationId, ctx, 'procedure.id');
          if (input.offerId) await requireOwnEntries(trx, 'directory_offer', [input.offerId], input.organizationId, 'procedure.offer_id');
          const values = { organization_id: input.organizationId, offer_id: input.offerId || null, title: input.title, steps: input.steps, last_verified_at: rt.now(), reminded_at: null };
          const row = await trx
            .insertInto('directory_procedure')
            .values({ id: input.id || uuidv7(), ...values })
            .onConflict((oc) => oc.column('id').doUpdateSet(values))
            .returningAll()
            .executeTakeFirstOrThrow();
          return { procedure: toProcedure(row) };
        }),
      );
    },

    async confirmEntry(req, ctx) {
      const v = new Violations();
      const requestId = v.requestId(req.requestId);
      v.enumValue('kind', req.kind, EntryKind);
      const entryId = id(v, 'id', req.id, true);
      v.throwIfAny();
      const table = tableOf[req.kind as keyof typeof tableOf];
      return rt.transact((trx) =>
        once(trx, { method: 'ConfirmEntry', requestId, request: req, requestCodec: dir.ConfirmEntryRequest }, dir.ConfirmEntryResponse, async () => {
          const entry =
            table === 'directory_organization'
              ? await trx.selectFrom('directory_organization').select('id as organization_id').where('id', '=', entryId).executeTakeFirst()
              : await trx.selectFrom(table).select('organization_id').where('id', '=', entryId).executeTakeFirst();
          if (!entry) throw new NotFoundError('id', entryId, `${dir.entryKindToJSON(req.kind).replace('ENTRY_KIND_', '').toLowerCase()} with id`);
          await requireOwner(trx, entry.organization_id, ctx, 'id');
          const now = rt.now();
          await trx.updateTable(table).set({ last_verified_at: now, reminded_at: null }).where('id', '=', entryId).execute();
          return { lastVerifiedAt: now };
        }),
      );
    },

    async listStale(req) {
      const v = new Violations();
      if (req.months > 120) v.add('months', 'must be at most 120');
      v.throwIfAny();
      const rows = await readStale(db, staleBefore(rt.now(), req.months || options.staleMonths));
      return {
        entries: rows.map((r) => dir.StaleEntry.fromPartial({ kind: r.kind, id: r.id, organizationId: r.organizationId, ownerAgencyId: r.ownerAgencyId, label: r.label, lastVerifiedAt: r.lastVerifiedAt })),
      };
    },
  };
}
