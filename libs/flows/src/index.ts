export { defaultFlowTableFile, eventFlows, flowRelations, flowTable, FlowTableError, legalBasisText, loadFlowTable, type Flow, type FlowRelation, type FlowTable, type LegalBasis, type Named } from './flow-table.js';
export {
  allowedCategories,
  categoryKey,
  categoryNumber,
  channel,
  DATA_OWNER_AGENCY_TYPE,
  FlowNotAllowedError,
  isDataOwnerType,
  flowsFor,
  purposeKey,
  requireFlow,
  type CategoryRef,
  type FlowQuery,
  type MissingPart,
  type PurposeRef,
} from './require-flow.js';
export { recordOfProcessing, recordsOfProcessing, recordsDir } from './records.js';
export {
  accessMatrix,
  accessMatrixDocument,
  AccessMatrixError,
  accessRefusal,
  accessRelations,
  personRequirement,
  personRoles,
  defaultAccessMatrixFile,
  loadAccessMatrix,
  type AccessMatrix,
  type AccessRelation,
  type AccessRule,
  type Caller,
} from './access-matrix.js';
