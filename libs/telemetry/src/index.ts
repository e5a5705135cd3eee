export { readTelemetryEnv, type TelemetryEnv } from './env.js';
export { DENIED_ATTRIBUTE_KEYS, isPersonalDataKey, personalDataKeyMatcher } from './personal-data-keys.js';
export { RedactingSpanProcessor, REDACTED_KEYS_ATTRIBUTE } from './redacting-span-processor.js';
export { ATTR_LOTSE_AGENCY_ID, shutdownTelemetry, startTelemetry, type TelemetryOptions } from './start-telemetry.js';
