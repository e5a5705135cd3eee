import { directory as dir } from '@lotse/contracts';
import { NotFoundError } from '@lotse/grpc';
import { requireOwner, unary } from '../directory-records.js';
import { tableOf } from '../store.js';
import { validateConfirmEntry } from '../validate.js';

/** The owner confirms an entry as still current, unchanged: it is no longer stale, and no reminder is due. */
export const confirmEntry = unary(dir.DirectoryServiceService.confirmEntry, {
  access: { relation: 'owner-of-entry' },
  validate: (req) => validateConfirmEntry(req),
  idempotent: true,
  async handle({ kind, id }, { rt, ctx, trx }) {
    const table = tableOf[kind as keyof typeof tableOf];
    const entry =
      table === 'directory_organization'
        ? await trx.selectFrom('directory_organization').select('id as organization_id').where('id', '=', id).executeTakeFirst()
        : await trx.selectFrom(table).select('organization_id').where('id', '=', id).executeTakeFirst();
    if (!entry) throw new NotFoundError('id', id, `${dir.entryKindToJSON(kind).replace('ENTRY_KIND_', '').toLowerCase()} with id`);
    await requireOwner(trx, entry.organization_id, ctx, 'id');
    const now = rt.now();
    await trx.updateTable(table).set({ last_verified_at: now, reminded_at: null }).where('id', '=', id).execute();
    return { lastVerifiedAt: now };
  },
});
