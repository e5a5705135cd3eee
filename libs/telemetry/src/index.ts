export { DEFAULT_TRACE_SLOW_MS, readTelemetryEnv, type TelemetryEnv } from './env.js';
export { KeepInterestingTracesProcessor, type KeepInterestingTracesOptions } from './keep-interesting-traces.js';
export { DENIED_ATTRIBUTE_KEYS, isPersonalDataKey, personalDataKeyMatcher } from './personal-data-keys.js';
export { RedactingSpanProcessor, REDACTED_KEYS_ATTRIBUTE } from './redacting-span-processor.js';
export { RedactingLogRecordProcessor } from './redacting-log-record-processor.js';
export {
  ATTR_LOTSE_AGENCY_ID,
  DEFAULT_METRIC_EXPORT_INTERVAL_MS,
  shutdownTelemetry,
  startTelemetry,
  type RunningTelemetry,
  type TelemetryOptions,
} from './start-telemetry.js';
