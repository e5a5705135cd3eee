import { directoryEvents } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import type { DirectoryDb } from './schema.js';
import { addMonths, readStale, staleBefore, tableOf } from './store.js';

/**
 * Reminds the owners of stale entries: one DirectoryEntryVerificationDue per entry not confirmed
 * within `staleMonths`, addressed to its owner, and not again until the entry is confirmed (an
 * upsert or ConfirmEntry clears reminded_at). The event and the mark commit together, so a crash
 * between them neither loses a reminder nor sends one twice. Returns how many were sent.
 */
export async function remindStaleEntries(hub: AgencyContext<HubDb>, staleMonths: number): Promise<number> {
  const rt = hub as unknown as AgencyContext<DirectoryDb>;
  return rt.transact(async (trx) => {
    const now = rt.now();
    const due = (await readStale(trx, staleBefore(now, staleMonths))).filter((r) => r.remindedAt === null);
    for (const entry of due) {
      await rt.publish(
        trx,
        directoryEvents.DirectoryEntryVerificationDue,
        { kind: entry.kind, entryId: entry.id, organizationId: entry.organizationId, ownerAgencyId: entry.ownerAgencyId, lastVerifiedAt: entry.lastVerifiedAt, dueSince: addMonths(entry.lastVerifiedAt, staleMonths) },
        '',
        entry.ownerAgencyId,
      );
      await trx.updateTable(tableOf[entry.kind as keyof typeof tableOf]).set({ reminded_at: now }).where('id', '=', entry.id).execute();
    }
    return due.length;
  });
}
