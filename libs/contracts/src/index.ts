// The generated contracts (never edited by hand: `pnpm gen` rewrites src/gen from proto/).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export * as common from './gen/lotse/common/v1/common.js';
export * as events from './gen/lotse/events/v1/referral_events.js';
export * as envelope from './gen/lotse/events/v1/envelope.js';
export * as foreignOffice from './gen/lotse/foreign_office/v1/foreign_office.js';
export * as lotsenhaus from './gen/lotse/lotsenhaus/v1/lotsenhaus.js';
export * as oneStop from './gen/lotse/lotsenhaus/v1/one_stop.js';
export * as oneStopEvents from './gen/lotse/events/v1/one_stop_events.js';
export * as directory from './gen/lotse/lotsenhaus/v1/directory.js';
export * as directoryEvents from './gen/lotse/events/v1/directory_events.js';
export * as statistics from './gen/lotse/lotsenhaus/v1/statistics.js';
export * as migrationServices from './gen/lotse/migration_services/v1/migration_services.js';
export * as jobCentre from './gen/lotse/job_centre/v1/job_centre.js';
export * as jobCentreEvents from './gen/lotse/events/v1/job_centre_events.js';
export * as operator from './gen/lotse/operator/v1/operator.js';
export * as receipts from './gen/lotse/receipts/v1/receipts.js';
export * as dataProtection from './gen/lotse/data_protection/v1/data_protection.js';
export * as rpcStatus from './gen/google/rpc/status.js';
export * as rpcErrorDetails from './gen/google/rpc/error_details.js';
export { Timestamp } from './gen/google/protobuf/timestamp.js';
export { Any } from './gen/google/protobuf/any.js';

/** Folder of the .proto sources; server reflection loads them at run time. */
export const protoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../proto');
export { isAdvance as isReferralStatusAdvance } from './referral-status.js';
export { eventTypeOf } from './event-names.js';
