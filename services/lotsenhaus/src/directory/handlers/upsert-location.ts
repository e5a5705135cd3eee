import { directory as dir } from '@lotse/contracts';
import { v7 as uuidv7 } from 'uuid';
import { requireOwner, requireSameOrganization, unary } from '../directory-records.js';
import { toLocation } from '../store.js';
import { validateLocation } from '../validate.js';

/** A partner adds or edits a location of its own organisation, with its opening hours. */
export const upsertLocation = unary(dir.DirectoryServiceService.upsertLocation, {
  access: { relation: 'owner-of-entry' },
  validate: (req) => validateLocation(req),
  idempotent: true,
  async handle(input, { rt, ctx, trx }) {
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
  },
});
