export * from './errors.js';
export { Violations, pageSize, berlinDate } from './validation.js';
export { GrpcServer, readTlsIdentity, type AgencyIdentity, type AsyncHandlers, type CallContext, type CallPerson, type StreamCallContext, type TlsIdentity } from './server.js';
export { createClient, type ClientOptions, type PromiseClient } from './client.js';
export { once, previousResponse, idempotencyMigrations } from './idempotency.js';
export { setCaseRef, ATTR_CASE_REF } from './call-telemetry.js';
export { Admission, defaultAdmissionLimits, methodClass, type AdmissionLimits, type MethodClass } from './admission.js';
