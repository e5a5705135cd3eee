import { directory as dir } from '@lotse/contracts';
import { v7 as uuidv7 } from 'uuid';
import { keptByAnother, unary } from '../directory-records.js';
import { ownerOf, toOrganization } from '../store.js';
import { validateOrganization } from '../validate.js';

/**
 * A partner adds an organisation (it becomes its owner) or edits one of its own; saving confirms
 * the entry as current.
 */
export const upsertOrganization = unary(dir.DirectoryServiceService.upsertOrganization, {
  access: { relation: 'owner-of-entry' },
  validate: (req) => validateOrganization(req),
  idempotent: true,
  async handle(input, { rt, ctx, trx }) {
    const now = rt.now();
    const orgId = input.id || uuidv7();
    const owner = await ownerOf(trx, orgId);
    if (owner !== undefined && owner !== ctx.caller.agencyId) throw keptByAnother(orgId, owner, ctx);
    const values = { name: input.name, description: input.description, email: input.email, website: input.website, last_verified_at: now, reminded_at: null };
    const row = await trx
      .insertInto('directory_organization')
      .values({ id: orgId, owner_agency_id: ctx.caller.agencyId, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .returningAll()
      .executeTakeFirstOrThrow();
    return { organization: toOrganization(row) };
  },
});
