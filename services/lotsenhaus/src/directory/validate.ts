import { directory as dir } from '@lotse/contracts';
import { Violations } from '@lotse/grpc';

// The directory's entries as the API and the demo seed accept them: each validator names every
// bad field at once and returns the entry as it is stored.

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uuidExpected = 'a UUID (lower-case hex, 8-4-4-4-12)';
const emailPattern = /^[^\s@<>()[\],;:"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const urlPattern = /^https?:\/\/[^\s<>"]{3,300}$/;
const phonePattern = /^\+?[0-9 ()/-]{4,30}$/;
const languagePattern = /^[a-z]{2}$/;
const timePattern = /^([01]\d|2[0-3]):[0-5]\d$/;
const postalPattern = /^\d{5}$/;
const maxList = 30;

export function entryId(v: Violations, field: string, value: string, required = false): string {
  return v.pattern(field, value, uuidPattern, uuidExpected, { required });
}

function list(v: Violations, field: string, values: string[], check: (f: string, value: string) => string): string[] {
  if (values.length > maxList) v.add(field, `must have at most ${maxList} entries`);
  return values.slice(0, maxList).map((value, i) => check(`${field}[${i}]`, value));
}

/** A municipality code of the region (the routing directory's), as given. */
function municipalityOf(v: Violations, field: string, value: string, municipalities: readonly string[]): string {
  if (!municipalities.includes(value)) v.add(field, `must be a municipality code of the region (${municipalities.join(', ')})`);
  return value;
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
    id: entryId(v, 'organization.id', o?.id ?? ''),
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
    id: entryId(v, f('id'), o.id),
    organizationId: entryId(v, f('organization_id'), o.organizationId, true),
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
    municipalitiesServed: list(v, f('municipalities_served'), o.municipalitiesServed, (field, value) => municipalityOf(v, field, value, municipalities)),
    providerAgencyId: optional(v, f('provider_agency_id'), o.providerAgencyId, /^[a-z0-9][a-z0-9-]{1,62}$/, 'an agency id of the network'),
    locationIds: list(v, f('location_ids'), o.locationIds, (field, value) => entryId(v, field, value, true)),
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
    id: entryId(v, f('id'), l.id),
    organizationId: entryId(v, f('organization_id'), l.organizationId, true),
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
    id: entryId(v, f('id'), c.id),
    organizationId: entryId(v, f('organization_id'), c.organizationId, true),
    offerId: entryId(v, f('offer_id'), c.offerId),
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
    id: entryId(v, f('id'), p.id),
    organizationId: entryId(v, f('organization_id'), p.organizationId, true),
    offerId: entryId(v, f('offer_id'), p.offerId),
    title: v.text(f('title'), p.title, { max: 200 }),
    steps: list(v, f('steps'), p.steps, (field, value) => v.text(field, value, { max: 500 })),
  };
  if (p.steps.length === 0) v.add(f('steps'), 'must name at least one step');
  v.throwIfAny();
  return { requestId, ...input };
}

/** A filter by municipality, or none. */
export function validateListOrganizations(req: dir.ListOrganizationsRequest, municipalities: readonly string[]) {
  const v = new Violations();
  const municipality = req.municipalityCode.trim();
  if (municipality) municipalityOf(v, 'municipality_code', municipality, municipalities);
  v.throwIfAny();
  return { municipality: municipality || undefined };
}

export function validateGetOrganization(req: dir.GetOrganizationRequest) {
  const v = new Violations();
  const id = entryId(v, 'id', req.id, true);
  v.throwIfAny();
  return { id };
}

export function validateConfirmEntry(req: dir.ConfirmEntryRequest) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  v.enumValue('kind', req.kind, dir.EntryKind);
  const id = entryId(v, 'id', req.id, true);
  v.throwIfAny();
  return { requestId, kind: req.kind, id };
}

export function validateListStale(req: dir.ListStaleRequest) {
  const v = new Violations();
  if (req.months > 120) v.add('months', 'must be at most 120');
  v.throwIfAny();
  return req;
}
