import { directory as dir } from '@lotse/contracts';
import { v7 as uuidv7 } from 'uuid';
import { requireOwnEntries, requireOwner, requireSameOrganization, unary } from '../directory-records.js';
import { toOffer } from '../store.js';
import { validateOffer } from '../validate.js';

/** A partner adds or edits an offer of its own organisation, at locations of that organisation. */
export const upsertOffer = unary(dir.DirectoryServiceService.upsertOffer, {
  access: { relation: 'owner-of-entry' },
  validate: (req, rt) => validateOffer(req, rt.municipalities),
  idempotent: true,
  async handle(input, { rt, ctx, trx }) {
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
  },
});
