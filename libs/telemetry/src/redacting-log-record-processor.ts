import { diag, type Context } from '@opentelemetry/api';
import type { SeverityNumber } from '@opentelemetry/api-logs';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { LogRecordProcessor, SdkLogRecord } from '@opentelemetry/sdk-logs';
import { DENIED_ATTRIBUTE_KEYS, personalDataKeyMatcher } from './personal-data-keys.js';
import { REDACTED_KEYS_ATTRIBUTE } from './redacting-span-processor.js';

/**
 * The log counterpart of RedactingSpanProcessor: drops attributes whose key names personal data
 * before the record reaches the exporting processor. A processor may change a record while
 * onEmit runs (the SDK makes it read-only afterwards), and nothing else holds the record, so it
 * is filtered in place. The body (the log message) is free text and stays: log ids, not names.
 */
export class RedactingLogRecordProcessor implements LogRecordProcessor {
  private readonly isDenied: (key: string) => boolean;
  private readonly reported = new Set<string>();

  constructor(
    private readonly next: LogRecordProcessor,
    deniedKeys: readonly string[] = DENIED_ATTRIBUTE_KEYS,
  ) {
    this.isDenied = personalDataKeyMatcher(deniedKeys);
  }

  onEmit(record: SdkLogRecord, context?: Context): void {
    let removed: string[] | undefined;
    const attributes = record.attributes as Record<string, unknown>;
    for (const key of Object.keys(attributes)) {
      if (!this.isDenied(key)) continue;
      delete attributes[key];
      (removed ??= []).push(key);
    }
    if (removed) {
      removed.sort();
      record.setAttribute(REDACTED_KEYS_ATTRIBUTE, removed);
      this.warnOnce(record.instrumentationScope.name, removed);
    }
    this.next.onEmit(record, context);
  }

  enabled(options: { context: Context; instrumentationScope: InstrumentationScope; severityNumber?: SeverityNumber; eventName?: string }): boolean {
    return this.next.enabled?.(options) ?? true;
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }

  private warnOnce(scope: string, keys: string[]): void {
    const fresh = keys.filter((key) => !this.reported.has(key));
    if (fresh.length === 0) return;
    for (const key of fresh) this.reported.add(key);
    diag.warn(`@lotse/telemetry: removed personal-data attributes ${fresh.join(', ')} from a log record of "${scope}"; do not log them`);
  }
}
