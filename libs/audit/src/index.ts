export { GENESIS_HASH, canonicalJson, canonicalRow, rowHash, type DetailValue, type Details, type HashedFields } from './canonical.js';
export {
  AUDIT_ACTIONS,
  appendAudit,
  auditEntriesFor,
  auditMigrations,
  lockAuditChain,
  verifyAuditChain,
  type AuditAction,
  type AuditActor,
  type AuditEntryInput,
  type AuditLogTable,
  type AuditTables,
  type ChainVerification,
} from './audit-log.js';
export { CASEWORKER_HEADER, actorOfCall, caseworkerOf, forwardCaseworker, systemActor, type CallActor } from './actor.js';
export {
  ACCESS_REQUEST_BASIS,
  AUDITOR_AGENCY_TYPE,
  OPERATOR_AGENCY_TYPE,
  type DataProtectionDeps,
  type DataProtectionRuntime,
} from './data-protection/runtime.js';
export { completedErasures, dataSubjectReport, toAuditEntry } from './data-protection/report.js';
export { DATA_PROTECTION_PROTO_FILE, auditRowCount, dataProtectionApi, dataProtectionService } from './data-protection-api.js';
export {
  RetentionPolicyError,
  defaultRetentionPolicyFile,
  expiresAt,
  expiryCutoff,
  loadRetentionPolicy,
  parsePeriod,
  retentionBasis,
  retentionConfig,
  retentionRule,
  shiftByPeriod,
  startRetentionJob,
  type RetentionConfig,
  type RetentionJob,
  type RetentionPeriod,
  type RetentionResult,
  type RetentionRule,
} from './retention.js';
