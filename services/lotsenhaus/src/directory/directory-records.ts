import { NotFoundError, PermissionDeniedError, type CallContext } from '@lotse/grpc';
import { handlersFor, type AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { DirectoryDb } from './schema.js';
import { ownerOf } from './store.js';

// What the directory's handlers share: their runtime, and the checks that a partner edits only
// the entries of its own organisations (the `owner-of-entry` relation of policy/access.yaml).
// A signed-in supervisor for the edits is the edge's to check (the rows' `people`), not theirs.

export interface DirectoryApiOptions {
  /** Municipality codes of the region (the routing directory's); an offer may serve only these. */
  municipalities: readonly string[];
  /** DIRECTORY_STALE_MONTHS: an entry not confirmed for this long is stale. */
  staleMonths: number;
}

/** The hub's deployment as the partner directory sees it: the directory's tables, and its options. */
export interface PartnerDirectory extends AgencyContext<DirectoryDb>, DirectoryApiOptions {}
export type Trx = Transaction<DirectoryDb>;

/** The directory's handlers are declared with these (see libs/runtime's declared handlers). */
export const { unary } = handlersFor<PartnerDirectory>();

/** An organisation kept by another partner: the caller may edit only its own entries. */
export function keptByAnother(organizationId: string, owner: string, ctx: CallContext): PermissionDeniedError {
  return new PermissionDeniedError(`organization ${organizationId} is kept by ${owner}; ${ctx.caller.agencyId} may edit only its own entries`);
}

/** The caller owns the organisation (it must exist). */
export async function requireOwner(trx: Trx, organizationId: string, ctx: CallContext, field: string): Promise<void> {
  const owner = await ownerOf(trx, organizationId);
  if (owner === undefined) throw new NotFoundError(field, organizationId, 'organization');
  if (owner !== ctx.caller.agencyId) throw keptByAnother(organizationId, owner, ctx);
}

/** An existing child entry stays with its organisation: an id of another organisation's entry is refused. */
export async function requireSameOrganization(trx: Trx, table: 'directory_offer' | 'directory_location' | 'directory_contact' | 'directory_procedure', entryId: string, organizationId: string, ctx: CallContext, field: string) {
  if (!entryId) return;
  const existing = await trx.selectFrom(table).select('organization_id').where('id', '=', entryId).executeTakeFirst();
  if (!existing || existing.organization_id === organizationId) return;
  await requireOwner(trx, existing.organization_id, ctx, field);
  throw new PermissionDeniedError(`${field}: entry ${entryId} belongs to organization ${existing.organization_id}; an entry cannot move to another organization`);
}

/** A referenced offer (field) or referenced locations (field[i]) belong to the same organisation. */
export async function requireOwnEntries(trx: Trx, table: 'directory_offer' | 'directory_location', ids: string[], organizationId: string, field: string) {
  if (ids.length === 0) return;
  const rows = await trx.selectFrom(table).select(['id', 'organization_id']).where('id', 'in', ids).execute();
  ids.forEach((entryId, i) => {
    const row = rows.find((r) => r.id === entryId);
    const what = table === 'directory_offer' ? 'offer' : 'location';
    if (!row || row.organization_id !== organizationId) throw new NotFoundError(what === 'offer' ? field : `${field}[${i}]`, entryId, `${what} of organization ${organizationId} with id`);
  });
}
