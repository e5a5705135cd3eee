import { directory as dir } from '@lotse/contracts';
import { v7 as uuidv7 } from 'uuid';
import { requireOwnEntries, requireOwner, requireSameOrganization, unary } from '../directory-records.js';
import { toProcedure } from '../store.js';
import { validateProcedure } from '../validate.js';

/** A partner adds or edits a procedure (the steps to an offer) of its own organisation. */
export const upsertProcedure = unary(dir.DirectoryServiceService.upsertProcedure, {
  access: { relation: 'owner-of-entry' },
  validate: (req) => validateProcedure(req),
  idempotent: true,
  async handle(input, { rt, ctx, trx }) {
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
  },
});
