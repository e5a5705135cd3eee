export { agencyConfig, type AgencyConfig } from './agency-config.js';
export { startAgency, type AgencyContext, type AgencyOverrides, type AgencySpec, type GrpcService, type RunningAgency } from './agency.js';
export { on, subjectOf, subscribe, type EventHandler, type ReceivedEvent, type Subscription } from './dispatch.js';
// The network's HTTP listeners share one idle timeout; it lives beside the issuer's listeners.
export { HTTP_KEEP_ALIVE_MS, keepIdleConnectionsOpen } from '@lotse/identity';
export { personAuthentication } from './person-authentication.js';
export { runUntilSignal } from './run-until-signal.js';
export { operatorApi, OPERATOR_AGENCY_TYPE, OPERATOR_PROTO_FILE, type OperatorApiDeps } from './operator/operator-api.js';
export { operatorMigrations } from './operator/migrations.js';
export type { OperatorActionKind, OperatorActionTable, OperatorTables } from './operator/tables.js';
export { startPeriodic, type PeriodicJob } from './periodic.js';
export { receiptApi, RECEIPTS_PROTO_FILE } from './receipts/receipt-api.js';
export {
  receiptFollowUp,
  receiptFollowUpConfig,
  hubReceiptFollowUp,
  eventTypesSent,
  defaultReceiptFollowUp,
  type ReceiptFollowUp,
  type ReceiptFollowUpDeps,
  type ReceiptFollowUpOptions,
  type ReceiptRecipient,
} from './receipts/receipt-follow-up.js';
export {
  accessMismatch,
  declaredService,
  handlersFor,
  streaming,
  unary,
  type Access,
  type Declared,
  type HandlerCall,
  type HandlerRuntime,
  type StreamHandlerCall,
} from './declared-handlers.js';
