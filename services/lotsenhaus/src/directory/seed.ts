import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { directory as dir } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import { v5 as uuidv5 } from 'uuid';
import type { HubDb } from '../db/schema.js';
import { validateContact, validateLocation, validateOffer, validateOrganization, validateProcedure } from './validate.js';
import type { DirectoryDb } from './schema.js';

/** Demo data of the Koblenz region (placeholders for addresses, e-mail and telephone). */
export const defaultDirectorySeedFile = fileURLToPath(new URL('./koblenz-directory.json', import.meta.url));

// Stable ids from the file's keys, so a seed on another machine, an export and a flyer agree.
const NAMESPACE = '1b0d5c9e-3f7a-5e4b-9c2d-8a6f4e3b2c10';
export const seedId = (...keys: string[]) => uuidv5(keys.join('/'), NAMESPACE);

interface SeedFile {
  verifiedAt: string;
  organizations: {
    key: string;
    owner: string;
    verifiedAt?: string;
    name: string;
    description?: string;
    email?: string;
    website?: string;
    locations: (Omit<dir.DirectoryLocation, 'id' | 'organizationId' | 'lastVerifiedAt'> & { key: string })[];
    offers: (Partial<dir.DirectoryOffer> & { key: string; locations: string[] })[];
    contacts: (Partial<dir.DirectoryContact> & { key: string; offer?: string })[];
    procedures: (Partial<dir.DirectoryProcedure> & { key: string; offer?: string; steps: string[] })[];
  }[];
}

/**
 * Fills an empty directory with the demo file. Each entry goes through the API's validation, so
 * a broken demo file stops start-up naming the entry and field. A directory with any
 * organisation is left as it is: the partners' own edits are never overwritten.
 */
export async function seedDirectory(hub: AgencyContext<HubDb>, municipalities: readonly string[], file = defaultDirectorySeedFile): Promise<number> {
  const rt = hub as unknown as AgencyContext<DirectoryDb>;
  const seed = JSON.parse(readFileSync(file, 'utf8')) as SeedFile;
  return rt.transact(async (trx) => {
    const any = await trx.selectFrom('directory_organization').select('id').limit(1).executeTakeFirst();
    if (any) return 0;
    for (const o of seed.organizations) {
      const where = (what: string) => (error: unknown) => {
        throw new Error(`${file}: ${what} of organization ${o.key}: ${(error as Error).message}`);
      };
      const verified = new Date(`${o.verifiedAt ?? seed.verifiedAt}T09:00:00Z`);
      const orgId = seedId(o.key);
      const org = (() => {
        try {
          return validateOrganization({ requestId: 'seed', organization: dir.DirectoryOrganization.fromPartial({ id: orgId, name: o.name, description: o.description, email: o.email, website: o.website }) });
        } catch (e) {
          return where('the organization')(e);
        }
      })();
      // "lotsenhaus" in the file is this hub's own deployment, whatever its id.
      const owner = o.owner === 'lotsenhaus' ? hub.agencyId : o.owner;
      await trx.insertInto('directory_organization').values({ id: orgId, owner_agency_id: owner, name: org.name, description: org.description, email: org.email, website: org.website, last_verified_at: verified, reminded_at: null }).execute();
      for (const l of o.locations) {
        let input;
        try {
          input = validateLocation({ requestId: 'seed', location: dir.DirectoryLocation.fromPartial({ ...l, id: seedId(o.key, l.key), organizationId: orgId }) });
        } catch (e) {
          where(`location ${l.key}`)(e);
        }
        const x = input!;
        await trx
          .insertInto('directory_location')
          .values({ id: x.id, organization_id: orgId, name: x.name, street: x.street, postal_code: x.postalCode, city: x.city, accessibility: x.accessibility, wheelchair_accessible: x.wheelchairAccessible, opening_hours: JSON.stringify(x.openingHours), last_verified_at: verified, reminded_at: null })
          .execute();
      }
      for (const s of o.offers) {
        const { key, locations, ...rest } = s;
        let input;
        try {
          input = validateOffer({ requestId: 'seed', offer: dir.DirectoryOffer.fromPartial({ ...rest, id: seedId(o.key, key), organizationId: orgId, locationIds: locations.map((k) => seedId(o.key, k)) }) }, municipalities);
        } catch (e) {
          where(`offer ${key}`)(e);
        }
        const x = input!;
        await trx
          .insertInto('directory_offer')
          .values({
            id: x.id,
            organization_id: orgId,
            name: x.name,
            description: x.description,
            target_group: x.targetGroup,
            minimum_age: x.minimumAge,
            maximum_age: x.maximumAge,
            languages_offered: x.languagesOffered,
            free_of_charge: x.freeOfCharge,
            fees_description: x.feesDescription,
            eligibility: x.eligibility,
            application_process: x.applicationProcess,
            required_documents: x.requiredDocuments,
            municipalities_served: x.municipalitiesServed,
            provider_agency_id: x.providerAgencyId,
            location_ids: x.locationIds,
            url: x.url,
            email: x.email,
            last_verified_at: verified,
            reminded_at: null,
          })
          .execute();
      }
      for (const c of o.contacts) {
        const { key, offer, ...rest } = c;
        let input;
        try {
          input = validateContact({ requestId: 'seed', contact: dir.DirectoryContact.fromPartial({ ...rest, id: seedId(o.key, key), organizationId: orgId, offerId: offer ? seedId(o.key, offer) : '' }) });
        } catch (e) {
          where(`contact ${key}`)(e);
        }
        const x = input!;
        await trx
          .insertInto('directory_contact')
          .values({ id: x.id, organization_id: orgId, offer_id: x.offerId || null, role: x.role, person_name: x.personConsented ? x.personName || null : null, person_consented: x.personConsented, email: x.email, phone: x.phone, last_verified_at: verified, reminded_at: null })
          .execute();
      }
      for (const p of o.procedures) {
        const { key, offer, ...rest } = p;
        let input;
        try {
          input = validateProcedure({ requestId: 'seed', procedure: dir.DirectoryProcedure.fromPartial({ ...rest, id: seedId(o.key, key), organizationId: orgId, offerId: offer ? seedId(o.key, offer) : '' }) });
        } catch (e) {
          where(`procedure ${key}`)(e);
        }
        const x = input!;
        await trx.insertInto('directory_procedure').values({ id: x.id, organization_id: orgId, offer_id: x.offerId || null, title: x.title, steps: x.steps, last_verified_at: verified, reminded_at: null }).execute();
      }
    }
    return seed.organizations.length;
  });
}
