import { appendAudit, expiryCutoff, lockAuditChain, retentionBasis, systemActor, type RetentionRule } from '@lotse/audit';
import { common } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import type { DirectoryDb } from './schema.js';

/**
 * The directory's retention rule (policy/retention.json, lotsenhaus.directory-contacts): a
 * contact its partner has not confirmed for the rule's period is deleted — role, work e-mail,
 * telephone and, where one was consented to, a staff member's name. The owner was reminded
 * once the entry went stale (DIRECTORY_STALE_MONTHS, shorter than the period). One audit entry
 * per contact, naming the entry, never the person. Returns how many were deleted.
 */
export async function expireDirectoryContacts(hub: AgencyContext<HubDb>, rule: RetentionRule): Promise<number> {
  const rt = hub as unknown as AgencyContext<DirectoryDb>;
  return rt.transact(async (trx) => {
    await lockAuditChain(trx);
    const now = rt.now();
    const expired = await trx
      .deleteFrom('directory_contact')
      .where('last_verified_at', '<', expiryCutoff(now, rule.period))
      .returning(['id', 'organization_id', 'last_verified_at', 'person_consented'])
      .execute();
    for (const c of expired) {
      await appendAudit(trx, {
        ...systemActor(rt.agencyId),
        action: 'delete',
        subjectRef: `directory-contact:${c.id}`,
        categories: [],
        purpose: common.Purpose.PURPOSE_UNSPECIFIED,
        legalBasis: retentionBasis(rule),
        details: { organization_id: c.organization_id, last_verified_at: c.last_verified_at.toISOString(), named_person: c.person_consented },
        at: now,
      });
    }
    return expired.length;
  });
}
