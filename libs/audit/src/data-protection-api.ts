import { dataProtection } from '@lotse/contracts';
import { sql, type Kysely } from '@lotse/db';
import type { AsyncHandlers } from '@lotse/grpc';
import { declaredService } from '@lotse/runtime';
import { getDataSubjectReport } from './data-protection/handlers/get-data-subject-report.js';
import { runRetention } from './data-protection/handlers/run-retention.js';
import { verifyAuditChain } from './data-protection/handlers/verify-audit-chain.js';
import type { DataProtectionDeps, DataProtectionRuntime } from './data-protection/runtime.js';

/** Relative to proto/, for server reflection. */
export const DATA_PROTECTION_PROTO_FILE = 'lotse/data_protection/v1/data_protection.proto';

/**
 * lotse.data_protection.v1.DataProtectionService, served by every agency deployment, one
 * declared handler per RPC (data-protection/handlers/). The chain check and the report are
 * generic; what an agency holds comes from the service (deps).
 */
export function dataProtectionApi<DB>(deps: DataProtectionDeps<DB>): AsyncHandlers<typeof dataProtection.DataProtectionServiceService> {
  const rt: DataProtectionRuntime<DB> = { ...deps, transact: (fn) => deps.db.transaction().execute(fn) };
  return declaredService(rt as DataProtectionRuntime, dataProtection.DataProtectionServiceService, { verifyAuditChain, getDataSubjectReport, runRetention });
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
