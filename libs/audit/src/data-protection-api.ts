import { common, dataProtection } from '@lotse/contracts';
import { isDataOwnerType } from '@lotse/flows';
import { sql, type Kysely, type Transaction } from '@lotse/db';
import { FailedPreconditionError, PermissionDeniedError, setCaseRef, Violations, type AsyncHandlers, type CallContext } from '@lotse/grpc';
import { actorOfCall } from './actor.js';
import { appendAudit, auditEntriesFor, verifyAuditChain, type AuditAction, type AuditLogTable } from './audit-log.js';
import type { RetentionResult } from './retention.js';

/** Relative to proto/, for server reflection. */
export const DATA_PROTECTION_PROTO_FILE = 'lotse/data_protection/v1/data_protection.proto';

/** Agency types (certificate OU) that may verify any agency's chain and read its data-subject reports. */
export const AUDITOR_AGENCY_TYPE = 'auditor';
export const OPERATOR_AGENCY_TYPE = 'operator';

/** The legal basis of answering a data subject's access request. */
export const ACCESS_REQUEST_BASIS = 'Art. 15 GDPR';

const actionToProto: Record<AuditAction, dataProtection.AuditAction> = {
  read: dataProtection.AuditAction.AUDIT_ACTION_READ,
  write: dataProtection.AuditAction.AUDIT_ACTION_WRITE,
  fetch: dataProtection.AuditAction.AUDIT_ACTION_FETCH,
  export: dataProtection.AuditAction.AUDIT_ACTION_EXPORT,
  erase: dataProtection.AuditAction.AUDIT_ACTION_ERASE,
  delete: dataProtection.AuditAction.AUDIT_ACTION_DELETE,
  refuse: dataProtection.AuditAction.AUDIT_ACTION_REFUSE,
};

/** What a service tells the generic API about its own tables. */
export interface DataProtectionDeps<DB> {
  agencyId: string;
  agencyType: string;
  db: Kysely<DB>;
  now(): Date;
  /** What this agency holds about a case: kinds of record, never the values. */
  holdings(trx: Transaction<DB>, caseRef: string): Promise<dataProtection.Holding[]>;
  /** The agencies that own the case's data as this agency knows them (e.g. the referring foreign office). */
  owners(trx: Transaction<DB>, caseRef: string): Promise<string[]>;
  /** Erasures asked for and not done yet (consent withdrawals); done ones come from the audit log. */
  pendingErasures?(trx: Transaction<DB>, caseRef: string): Promise<dataProtection.Erasure[]>;
  runRetention?(): Promise<RetentionResult[]>;
}

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
function ownersFromAudit(rows: readonly AuditLogTable[]): string[] {
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

function isSelfOr(call: CallContext, agencyId: string, types: readonly string[]): boolean {
  return call.caller.agencyId === agencyId || types.includes(call.caller.agencyType);
}

/**
 * lotse.data_protection.v1.DataProtectionService, served by every agency deployment. The chain
 * check and the report are generic; what an agency holds comes from the service (deps).
 */
export function dataProtectionApi<DB>(deps: DataProtectionDeps<DB>): AsyncHandlers<typeof dataProtection.DataProtectionServiceService> {
  const db = deps.db as Kysely<any>;
  return {
    async verifyAuditChain(req, call) {
      if (!isSelfOr(call, deps.agencyId, [OPERATOR_AGENCY_TYPE, AUDITOR_AGENCY_TYPE])) {
        throw new PermissionDeniedError(`only operators, auditors and ${deps.agencyId} itself may call ${call.method}; ${call.caller.agencyId} is of agency type "${call.caller.agencyType}"`);
      }
      const v = new Violations();
      const knownHash = v.pattern('known_head_hash', req.knownHeadHash, /^[0-9a-f]{64}$/, 'a sha256 hash in lower-case hex', { required: false });
      if (req.knownHeadSeq > 0 && !knownHash) v.add('known_head_hash', 'must be set with known_head_seq');
      if (knownHash && !(req.knownHeadSeq > 0)) v.add('known_head_seq', 'must be set with known_head_hash');
      v.throwIfAny();
      // One snapshot: appends that commit meanwhile are not half seen.
      const result = await db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute((trx) => verifyAuditChain(trx, knownHash ? { knownHead: { seq: req.knownHeadSeq, hash: knownHash } } : {}));
      return dataProtection.VerifyAuditChainResponse.fromPartial({
        agencyId: deps.agencyId,
        ok: result.ok,
        rows: result.rows,
        firstBroken: result.firstBroken,
        headSeq: result.head?.seq ?? 0,
        headHash: result.head?.hash ?? '',
        verifiedAt: deps.now(),
      });
    },

    async getDataSubjectReport(req, call) {
      const v = new Violations();
      const caseRef = v.text('case_ref', req.caseRef, { max: 64 });
      v.throwIfAny();
      const actor = actorOfCall(call);
      setCaseRef(caseRef);
      const privileged = isSelfOr(call, deps.agencyId, [OPERATOR_AGENCY_TYPE, AUDITOR_AGENCY_TYPE]);
      return deps.db.transaction().execute(async (trx) => {
        if (!privileged) {
          const owners = new Set([...(await deps.owners(trx, caseRef)), ...ownersFromAudit(await auditEntriesFor(trx as Kysely<any>, caseRef))]);
          if (!owners.has(call.caller.agencyId)) {
            // A data owner asking about a case this agency knows nothing of learns just that.
            if (owners.size === 0 && isDataOwnerType(call.caller.agencyType)) {
              return dataProtection.GetDataSubjectReportResponse.fromPartial({ agencyId: deps.agencyId, agencyType: deps.agencyType, caseRef, generatedAt: deps.now() });
            }
            throw new PermissionDeniedError(`${call.caller.agencyId} does not own case ${caseRef}; only its foreign office, auditors and operators may ask`);
          }
        }
        const report = await dataSubjectReport(trx, deps, caseRef);
        if (report.holdings.length > 0 || report.auditEntries.length > 0) {
          await appendAudit(trx, {
            ...actor,
            action: 'read',
            subjectRef: caseRef,
            categories: [...new Set(report.holdings.flatMap((h) => h.categories))].sort((a, b) => a - b),
            purpose: common.Purpose.PURPOSE_UNSPECIFIED,
            legalBasis: ACCESS_REQUEST_BASIS,
            details: { report: 'data_subject_report' },
            at: deps.now(),
          });
        }
        return report;
      });
    },

    async runRetention(_req, call) {
      if (!isSelfOr(call, deps.agencyId, [OPERATOR_AGENCY_TYPE])) {
        throw new PermissionDeniedError(`only operators and ${deps.agencyId} itself may call ${call.method}`);
      }
      if (!deps.runRetention) throw new FailedPreconditionError(`${deps.agencyId} has no retention job`);
      const ranAt = deps.now();
      const results = await deps.runRetention();
      return { deletions: results.map((r) => ({ rule: r.rule, deleted: r.deleted })), ranAt };
    },
  };
}

/** The service entry for startAgency's `services:` list. */
export function dataProtectionService<DB>(deps: DataProtectionDeps<DB>) {
  return { definition: dataProtection.DataProtectionServiceService, protoFile: DATA_PROTECTION_PROTO_FILE, handlers: dataProtectionApi(deps) };
}

/** Reads a whole table's row count; tests and the report use it to show nothing was written. */
export async function auditRowCount(db: Kysely<any>): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_log`.execute(db);
  return rows[0]!.n;
}
