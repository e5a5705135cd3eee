export * from './errors.js';
export { Violations, pageSize, berlinDate } from './validation.js';
export { GrpcServer, readTlsIdentity, type AgencyIdentity, type AsyncHandlers, type CallContext, type CallPerson, type StreamCallContext, type TlsIdentity } from './server.js';
export { createClient, isUnreachable, throwDownstream, type ClientOptions, type PromiseClient } from './client.js';
export { requireOwnCaseworker } from './access.js';
export { forgetAnswersNaming, idempotencyMigrations, once, previousResponse, reviseStoredAnswers, type StoredAnswerFate } from './idempotency.js';
export { setCaseRef, ATTR_CASE_REF } from './call-telemetry.js';
export { Admission, defaultAdmissionLimits, methodClass, type AdmissionLimits, type MethodClass } from './admission.js';
