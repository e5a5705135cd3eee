import { common, directory as dir } from '@lotse/contracts';
import { v5 as uuidv5 } from 'uuid';

// The partner directory in Open Referral's Human Services Data Specification 3.0 (HSDS): the
// standard other service directories read and write. Organisation → organization, offer →
// service, location → location with address, accessibility and schedules, the offer at each of
// its locations → service_at_location, contacts (roles) → contact with phone, languages offered
// → language, required documents → required_document, cost → cost_option, municipalities →
// service_area. The last-verified date is HSDS's assured_date. A procedure has no HSDS object:
// its steps are appended to its offer's application_process. Capacity (SetCapacity) has none in
// 3.0 either; it goes to service_capacity, the object 3.1's draft adds, in a file of its own.

export const HSDS_VERSION = '3.0';
export const HSDS_PROFILE = 'https://docs.openreferral.org/en/v3.0/';

/** Ids of derived objects (an address, a schedule line) are UUIDs made from their parent's id. */
const DERIVED = '6d3c2f1e-8b4a-5c7d-9e0f-1a2b3c4d5e6f';
const derived = (...parts: (string | number)[]) => uuidv5(parts.join('/'), DERIVED);

const weekdays = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const languageNames: Record<string, string> = {
  de: 'Deutsch', en: 'English', ar: 'العربية', uk: 'Українська', ru: 'Русский', fa: 'فارسی', tr: 'Türkçe', ps: 'پښتو', ti: 'ትግርኛ', ku: 'Kurdî', so: 'Soomaali', fr: 'Français',
};

type Json = Record<string, unknown>;

/** Leaves out empty strings and zero bounds: HSDS formats (email, uri) do not accept "". */
function compact<T extends Json>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== '' && v !== undefined && v !== null)) as T;
}

const isoDate = (at: Date | undefined) => (at ?? new Date(0)).toISOString().slice(0, 10);

export interface HsdsContext {
  /** Municipality codes to names, for service areas. */
  municipalities: readonly { code: string; name: string }[];
  /** The region's name ("Mayen-Koblenz und Stadt Koblenz"). */
  region: string;
}

function organizationObject(o: dir.DirectoryOrganization): Json {
  return compact({ id: o.id, name: o.name, description: o.description || o.name, email: o.email, website: o.website });
}

function phoneObject(number: string, parent: Json, id: string): Json {
  return compact({ id, number, type: 'voice', ...parent });
}

function locationObject(l: dir.DirectoryLocation): Json {
  return compact({
    id: l.id,
    location_type: 'physical',
    organization_id: l.organizationId,
    name: l.name,
    addresses: [compact({ id: derived(l.id, 'address'), location_id: l.id, address_1: l.street, city: l.city, state_province: 'Rheinland-Pfalz', postal_code: l.postalCode, country: 'DE', address_type: 'physical' })],
    accessibility: l.accessibility || l.wheelchairAccessible
      ? [compact({ id: derived(l.id, 'accessibility'), location_id: l.id, description: l.accessibility || undefined, details: l.wheelchairAccessible ? 'wheelchair accessible' : 'not wheelchair accessible' })]
      : [],
    schedules: l.openingHours.map((h, i) =>
      compact({ id: derived(l.id, 'schedule', i), location_id: l.id, freq: 'WEEKLY', wkst: 'MO', byday: weekdays[h.weekday - 1], opens_at: h.opensAt, closes_at: h.closesAt, description: `${weekdays[h.weekday - 1]} ${h.opensAt}–${h.closesAt} (Europe/Berlin)` }),
    ),
  });
}

function contactObject(c: dir.DirectoryContact): Json {
  return compact({
    id: c.id,
    organization_id: c.organizationId,
    service_id: c.offerId,
    // A role, and a person's name only where that person agreed to be listed.
    title: c.role,
    name: c.personConsented ? c.personName : undefined,
    email: c.email,
    phones: c.phone ? [phoneObject(c.phone, { contact_id: c.id }, derived(c.id, 'phone'))] : [],
  });
}

function applicationProcess(offer: dir.DirectoryOffer, procedures: dir.DirectoryProcedure[]): string {
  const steps = procedures.filter((p) => p.offerId === offer.id).map((p) => `${p.title}: ${p.steps.map((s, i) => `${i + 1}. ${s}`).join(' ')}`);
  return [offer.applicationProcess, ...steps].filter(Boolean).join('\n');
}

/** One service, fully nested (HSDS compiled/service.json, the answer of GET /services/{id}). */
export function serviceObject(org: dir.DirectoryOrganization, offer: dir.DirectoryOffer, ctx: HsdsContext): Json {
  const locations = org.locations.filter((l) => offer.locationIds.includes(l.id));
  const contacts = org.contacts.filter((c) => c.offerId === offer.id || (!c.offerId && !org.contacts.some((x) => x.offerId === offer.id)));
  const areas = offer.municipalitiesServed.length ? offer.municipalitiesServed : [];
  return compact({
    ...serviceListObject(offer, org),
    organization: organizationObject(org),
    service_at_locations: locations.map((l) => compact({ id: derived(offer.id, 'at', l.id), service_id: offer.id, location_id: l.id, location: locationObject(l), schedules: locationObject(l).schedules })),
    contacts: contacts.map(contactObject),
    phones: contacts.filter((c) => c.phone).map((c) => phoneObject(c.phone, { service_id: offer.id }, derived(offer.id, 'phone', c.id))),
    languages: offer.languagesOffered.map((code) => compact({ id: derived(offer.id, 'language', code), service_id: offer.id, code, name: languageNames[code] ?? code })),
    required_documents: offer.requiredDocuments.map((document, i) => ({ id: derived(offer.id, 'document', i), service_id: offer.id, document })),
    cost_options: [
      compact({
        id: derived(offer.id, 'cost'),
        service_id: offer.id,
        option: offer.freeOfCharge ? 'free of charge' : 'fees apply',
        currency: 'EUR',
        amount: offer.freeOfCharge ? 0 : undefined,
        amount_description: offer.feesDescription || (offer.freeOfCharge ? 'kostenfrei' : undefined),
      }),
    ],
    service_areas: (areas.length ? areas : ['']).map((code) =>
      compact({ id: derived(offer.id, 'area', code || 'region'), service_id: offer.id, name: code ? (ctx.municipalities.find((m) => m.code === code)?.name ?? code) : ctx.region, extent_type: 'municipality', uri: code ? `lotse:municipality:${code}` : undefined }),
    ),
  });
}

/** A service's one-to-one fields (HSDS compiled/service_list.json, GET /services). */
export function serviceListObject(offer: dir.DirectoryOffer, org: dir.DirectoryOrganization): Json {
  return compact({
    id: offer.id,
    organization_id: offer.organizationId,
    name: offer.name,
    description: offer.description || offer.name,
    url: offer.url,
    email: offer.email,
    status: 'active',
    interpretation_services: offer.languagesOffered.length ? `Beratung auf: ${offer.languagesOffered.map((c) => languageNames[c] ?? c).join(', ')}` : undefined,
    application_process: applicationProcess(offer, org.procedures),
    fees_description: offer.freeOfCharge ? 'kostenfrei' : offer.feesDescription,
    eligibility_description: [offer.targetGroup, offer.eligibility].filter(Boolean).join('. '),
    minimum_age: offer.minimumAge || undefined,
    maximum_age: offer.maximumAge || undefined,
    assured_date: isoDate(offer.lastVerifiedAt),
    last_modified: (offer.lastVerifiedAt ?? new Date(0)).toISOString(),
  });
}

/** One organisation, fully nested (compiled/organization.json, GET /organizations/{id}). */
export function organizationFullObject(org: dir.DirectoryOrganization, ctx: HsdsContext): Json {
  return compact({
    ...organizationObject(org),
    contacts: org.contacts.filter((c) => !c.offerId).map(contactObject),
    locations: org.locations.map(locationObject),
    services: org.offers.map((o) => serviceListObject(o, org)),
  });
}

/** One service at one location, fully nested (compiled/service_at_location.json). */
export function serviceAtLocationObjects(org: dir.DirectoryOrganization, ctx: HsdsContext): Json[] {
  return org.offers.flatMap((offer) =>
    org.locations
      .filter((l) => offer.locationIds.includes(l.id))
      .map((l) => compact({ id: derived(offer.id, 'at', l.id), service_id: offer.id, location_id: l.id, service: serviceListObject(offer, org), location: locationObject(l), schedules: locationObject(l).schedules, contacts: [], phones: [] })),
  );
}

const capacityUnits: Record<number, string> = {
  [common.CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS]: 'freie Erstberatungstermine',
  [common.CapacityKind.CAPACITY_KIND_LANGUAGE_COURSE_PLACES]: 'freie Sprachkursplätze',
};

/**
 * The whole directory as HSDS tables, one JSON array per object type (the files of an export),
 * plus `services_full` (every service fully nested, what another directory imports).
 */
export function hsdsTables(orgs: dir.DirectoryOrganization[], ctx: HsdsContext): Record<string, Json[]> {
  const services = orgs.flatMap((org) => org.offers.map((offer) => serviceObject(org, offer, ctx)));
  const locations = orgs.flatMap((org) => org.locations.map(locationObject));
  const pick = (list: Json[], key: string) => list.flatMap((x) => (x[key] as Json[] | undefined) ?? []);
  const contacts = orgs.flatMap((org) => org.contacts.map(contactObject));
  const flat = (x: Json) => Object.fromEntries(Object.entries(x).filter(([, v]) => !Array.isArray(v) && (typeof v !== 'object' || v === null)));
  return {
    organizations: orgs.map((o) => organizationObject(o)),
    services: services.map(flat),
    locations: locations.map(flat),
    service_at_locations: pick(services, 'service_at_locations').map(flat),
    contacts: contacts.map(flat),
    phones: [...pick(contacts, 'phones'), ...pick(services, 'phones')],
    schedules: pick(locations, 'schedules'),
    languages: pick(services, 'languages'),
    addresses: pick(locations, 'addresses'),
    accessibility: pick(locations, 'accessibility'),
    required_documents: pick(services, 'required_documents'),
    cost_options: pick(services, 'cost_options'),
    service_areas: pick(services, 'service_areas'),
    services_full: services,
    // HSDS 3.1 draft (service_capacity with its unit); no 3.0 schema to validate it against.
    service_capacity: orgs.flatMap((org) =>
      org.offers.flatMap((offer) =>
        offer.capacity.map((c) => ({
          id: derived(offer.id, 'capacity', c.kind),
          service_id: offer.id,
          unit: { id: derived('unit', c.kind), name: capacityUnits[c.kind] ?? 'places' },
          available: c.free,
          updated: (c.changedAt ?? new Date(0)).toISOString(),
        })),
      ),
    ),
  };
}

/** An HSDS Page (openapi.json components.schemas.Page) around `contents`. */
export function page(contents: Json[], pageNumber: number, perPage: number): Json {
  const totalPages = Math.max(1, Math.ceil(contents.length / perPage));
  const slice = contents.slice((pageNumber - 1) * perPage, pageNumber * perPage);
  return { total_items: contents.length, total_pages: totalPages, page_number: pageNumber, size: slice.length, first_page: pageNumber === 1, last_page: pageNumber >= totalPages, empty: slice.length === 0, contents: slice };
}

// --- import --------------------------------------------------------------------------------------

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const IMPORTED = '0c9a7b6e-5d4c-5b3a-8f2e-1d0c9b8a7f6e';
/** Another directory's id as a UUID of ours: kept as it is when it is one, else made from it. */
const importedId = (id: unknown) => (typeof id === 'string' && uuidPattern.test(id.toLowerCase()) ? id.toLowerCase() : uuidv5(String(id ?? ''), IMPORTED));
const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as Json[]) : []);
const dayIndex = (byday: string) => weekdays.indexOf(byday.trim().toUpperCase()) + 1;

/**
 * Reads an HSDS file of fully nested services (one service, an array, or a Page with
 * `contents`) into directory organisations with their offers, locations and contacts, for the
 * upserts that store them (each checked by the API like any edit). Names of persons are not
 * taken over: HSDS does not say whether the person agreed to be listed here.
 */
export function fromHsds(input: unknown, ctx: HsdsContext): dir.DirectoryOrganization[] {
  const services = Array.isArray(input) ? arr(input) : input && typeof input === 'object' && Array.isArray((input as Json).contents) ? arr((input as Json).contents) : [input as Json];
  const orgs = new Map<string, dir.DirectoryOrganization>();
  for (const [i, s] of services.entries()) {
    if (!s || typeof s !== 'object' || !str(s.id) || !str(s.name)) throw new Error(`services[${i}]: an HSDS service needs id and name`);
    const o = (s.organization as Json | undefined) ?? { id: s.organization_id };
    if (!str(o.id)) throw new Error(`services[${i}] (${str(s.name)}): needs organization or organization_id`);
    const orgId = importedId(o.id);
    const org = orgs.get(orgId) ?? dir.DirectoryOrganization.fromPartial({ id: orgId, name: str(o.name) || str(s.name), description: str(o.description), email: str(o.email), website: str(o.website) });
    orgs.set(orgId, org);
    const offerId = importedId(s.id);
    const locationIds: string[] = [];
    for (const sal of arr(s.service_at_locations)) {
      const l = (sal.location as Json | undefined) ?? {};
      const lid = importedId(l.id ?? sal.location_id);
      locationIds.push(lid);
      if (org.locations.some((x) => x.id === lid)) continue;
      const address = arr(l.addresses)[0] ?? {};
      const schedules = [...arr(l.schedules), ...arr(sal.schedules)];
      org.locations.push(
        dir.DirectoryLocation.fromPartial({
          id: lid,
          organizationId: orgId,
          name: str(l.name) || str(address.address_1) || 'Standort',
          street: [str(address.address_1), str(address.address_2)].filter(Boolean).join(', '),
          postalCode: str(address.postal_code),
          city: str(address.city),
          accessibility: arr(l.accessibility).map((a) => str(a.description)).filter(Boolean).join('; '),
          wheelchairAccessible: arr(l.accessibility).some((a) => /wheelchair accessible/i.test(str(a.details)) && !/not wheelchair/i.test(str(a.details))),
          openingHours: schedules.flatMap((h) =>
            str(h.byday)
              .split(',')
              .map(dayIndex)
              .filter((d) => d > 0 && str(h.opens_at) && str(h.closes_at))
              .map((weekday) => ({ weekday, opensAt: str(h.opens_at).slice(0, 5), closesAt: str(h.closes_at).slice(0, 5) })),
          ),
        }),
      );
    }
    const free = arr(s.cost_options).some((c) => c.amount === 0) || /kostenfrei|free/i.test(str(s.fees_description));
    org.offers.push(
      dir.DirectoryOffer.fromPartial({
        id: offerId,
        organizationId: orgId,
        name: str(s.name),
        description: str(s.description),
        targetGroup: '',
        minimumAge: typeof s.minimum_age === 'number' ? Math.max(0, Math.round(s.minimum_age)) : 0,
        maximumAge: typeof s.maximum_age === 'number' ? Math.max(0, Math.round(s.maximum_age)) : 0,
        languagesOffered: [...new Set(arr(s.languages).map((l) => str(l.code).toLowerCase().slice(0, 2)).filter((c) => /^[a-z]{2}$/.test(c)))],
        freeOfCharge: free,
        feesDescription: free ? '' : str(s.fees_description),
        eligibility: str(s.eligibility_description),
        applicationProcess: str(s.application_process),
        requiredDocuments: arr(s.required_documents).map((d) => str(d.document)).filter(Boolean),
        municipalitiesServed: [
          ...new Set(
            arr(s.service_areas)
              .map((a) => {
                const uri = str(a.uri).replace(/^lotse:municipality:/, '');
                return ctx.municipalities.find((m) => m.code === uri || m.name === str(a.name))?.code ?? '';
              })
              .filter(Boolean),
          ),
        ],
        locationIds,
        url: str(s.url),
        email: str(s.email),
      }),
    );
    for (const c of arr(s.contacts)) {
      const cid = importedId(c.id);
      if (org.contacts.some((x) => x.id === cid)) continue;
      const phone = str(arr(c.phones)[0]?.number) || str(arr(s.phones)[0]?.number);
      org.contacts.push(dir.DirectoryContact.fromPartial({ id: cid, organizationId: orgId, offerId, role: str(c.title) || str(c.department) || 'Kontakt', email: str(c.email), phone }));
    }
  }
  return [...orgs.values()];
}
