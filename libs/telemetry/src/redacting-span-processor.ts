import type { Context } from '@opentelemetry/api';
import { diag, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DENIED_ATTRIBUTE_KEYS, personalDataKeyMatcher } from './personal-data-keys.js';

/** Set on a span that lost attributes, so the code that leaked them can be found and fixed. */
export const REDACTED_KEYS_ATTRIBUTE = 'lotse.redacted_keys';

/**
 * Wraps the processor that exports, and hands it a copy of each span without attributes whose key
 * names personal data (span, event and link attributes alike). The live span is left alone; only
 * what leaves the process is filtered. Defence in depth: service code must not set such
 * attributes in the first place.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  private readonly isDenied: (key: string) => boolean;
  private readonly reported = new Set<string>();

  constructor(
    private readonly next: SpanProcessor,
    deniedKeys: readonly string[] = DENIED_ATTRIBUTE_KEYS,
  ) {
    this.isDenied = personalDataKeyMatcher(deniedKeys);
  }

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.next.onEnd(this.redact(span));
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }

  private redact(span: ReadableSpan): ReadableSpan {
    const removed = new Set<string>();
    const attributes = this.filter(span.attributes, removed);
    const events = span.events.map((event) => (event.attributes ? { ...event, attributes: this.filter(event.attributes, removed) } : event));
    const links = span.links.map((link) => (link.attributes ? { ...link, attributes: this.filter(link.attributes, removed) } : link));
    // Nearly every span is clean; pass it on untouched rather than copying it.
    if (removed.size === 0) return span;
    const keys = [...removed].sort();
    this.warnOnce(span.name, keys);
    return {
      name: span.name,
      kind: span.kind,
      spanContext: () => span.spanContext(),
      parentSpanContext: span.parentSpanContext,
      startTime: span.startTime,
      endTime: span.endTime,
      status: span.status,
      attributes: { ...attributes, [REDACTED_KEYS_ATTRIBUTE]: keys },
      links,
      events,
      duration: span.duration,
      ended: span.ended,
      resource: span.resource,
      instrumentationScope: span.instrumentationScope,
      droppedAttributesCount: span.droppedAttributesCount,
      droppedEventsCount: span.droppedEventsCount,
      droppedLinksCount: span.droppedLinksCount,
    };
  }

  private filter(attributes: Attributes, removed: Set<string>): Attributes {
    let kept: Attributes | undefined;
    for (const key of Object.keys(attributes)) {
      if (!this.isDenied(key)) continue;
      kept ??= { ...attributes };
      delete kept[key];
      removed.add(key);
    }
    return kept ?? attributes;
  }

  private warnOnce(spanName: string, keys: string[]): void {
    const fresh = keys.filter((key) => !this.reported.has(key));
    if (fresh.length === 0) return;
    for (const key of fresh) this.reported.add(key);
    diag.warn(`@lotse/telemetry: removed personal-data attributes ${fresh.join(', ')} from span "${spanName}"; do not set them`);
  }
}
