import { directory as dir } from '@lotse/contracts';
import { v7 as uuidv7 } from 'uuid';
import { requireOwnEntries, requireOwner, requireSameOrganization, unary } from '../directory-records.js';
import { toContact } from '../store.js';
import { validateContact } from '../validate.js';

/**
 * A partner adds or edits a contact of its own organisation (or of one of its offers). A person's
 * name is stored only where that person agreed to be listed.
 */
export const upsertContact = unary(dir.DirectoryServiceService.upsertContact, {
  access: { relation: 'owner-of-entry' },
  validate: (req) => validateContact(req),
  idempotent: true,
  async handle(input, { rt, ctx, trx }) {
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
  },
});
