import { directory as dir } from '@lotse/contracts';
import { unary } from '../directory-records.js';
import { readStale, staleBefore } from '../store.js';
import { validateListStale } from '../validate.js';

/** The entries not confirmed for `months` (the directory's stale period when 0), so their owners can be asked. */
export const listStale = unary(dir.DirectoryServiceService.listStale, {
  access: 'network',
  validate: (req) => validateListStale(req),
  async handle({ months }, { rt }) {
    const rows = await readStale(rt.db, staleBefore(rt.now(), months || rt.staleMonths));
    return {
      entries: rows.map((r) => dir.StaleEntry.fromPartial({ kind: r.kind, id: r.id, organizationId: r.organizationId, ownerAgencyId: r.ownerAgencyId, label: r.label, lastVerifiedAt: r.lastVerifiedAt })),
    };
  },
});
