import { dataProtection } from '@lotse/contracts';
import type { Kysely, Transaction } from '@lotse/db';
import { auditEntriesFor, type AuditAction, type AuditLogTable } from '../audit-log.js';
import type { DataProtectionDeps } from './runtime.js';

const actionToProto: Record<AuditAction, dataProtection.AuditAction> = {
  read: dataProtection.AuditAction.AUDIT_ACTION_READ,
  write: dataProtection.AuditAction.AUDIT_ACTION_WRITE,
  fetch: dataProtection.AuditAction.AUDIT_ACTION_FETCH,
  export: dataProtection.AuditAction.AUDIT_ACTION_EXPORT,
  erase: dataProtection.AuditAction.AUDIT_ACTION_ERASE,
  delete: dataProtection.AuditAction.AUDIT_ACTION_DELETE,
  refuse: dataProtection.AuditAction.AUDIT_ACTION_REFUSE,
};

export function toAuditEntry(row: AuditLogTable): dataProtection.AuditEntry {
  const details: Record<string, string> = {};
  for (const [key, value] of Object.entries(row.details ?? {})) {
    details[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return dataProtection.AuditEntry.fromPartial({
    seq: row.seq,
    at: row.at,
    actorAgencyId: row.actor_agency_id,
    actor: row.actor,
    caseworkerId: row.caseworker_id ?? '',
    actorRoles: row.actor_roles ?? [],
    action: actionToProto[row.action] ?? dataProtection.AuditAction.AUDIT_ACTION_UNSPECIFIED,
    categories: row.categories,
    purpose: row.purpose,
    legalBasis: row.legal_basis,
    details,
  });
}

/** Erasures and retention deletions already done, as the audit log records them. */
export function completedErasures(rows: readonly AuditLogTable[]): dataProtection.Erasure[] {
  return rows
    .filter((r) => r.action === 'erase' || r.action === 'delete')
    .map((r) =>
      dataProtection.Erasure.fromPartial({
        status: 'done',
        categories: r.categories,
        reason: r.legal_basis,
        completedAt: r.at,
        keptUnder: typeof r.details?.kept_under === 'string' ? r.details.kept_under : '',
      }),
    );
}

/** Owners named by earlier audit entries (a fetch records whose data it was), once the records are gone. */
export function ownersFromAudit(rows: readonly AuditLogTable[]): string[] {
  return rows.flatMap((r) => (typeof r.details?.owner_agency_id === 'string' ? [r.details.owner_agency_id] : []));
}

/**
 * The data-subject report of this agency for one case, read inside `trx`. Used by the gRPC
 * handler and by the foreign office for its own part of the transparency report.
 */
export async function dataSubjectReport<DB>(trx: Transaction<DB>, deps: DataProtectionDeps<DB>, caseRef: string): Promise<dataProtection.GetDataSubjectReportResponse> {
  const [holdings, rows, pending] = [
    await deps.holdings(trx, caseRef),
    await auditEntriesFor(trx as Kysely<any>, caseRef),
    (await deps.pendingErasures?.(trx, caseRef)) ?? [],
  ];
  return dataProtection.GetDataSubjectReportResponse.fromPartial({
    agencyId: deps.agencyId,
    agencyType: deps.agencyType,
    caseRef,
    holdings,
    auditEntries: rows.map(toAuditEntry),
    erasures: [...pending, ...completedErasures(rows)],
    generatedAt: deps.now(),
  });
}
