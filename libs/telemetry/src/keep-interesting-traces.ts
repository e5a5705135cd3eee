import { SpanStatusCode, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface KeepInterestingTracesOptions {
  /** Share of the other traces that is exported too, chosen by trace id (0–1). */
  keepRatio: number;
  /** A span at least this long makes its trace worth keeping. */
  slowMs: number;
  /** Traces waiting for their local root at most (the oldest is decided when more arrive). */
  maxOpenTraces?: number;
  /** Spans one trace may hold before it is decided anyway. */
  maxSpansPerTrace?: number;
  /** A trace waits this long for its local root at most. */
  maxWaitMs?: number;
}

interface OpenTrace {
  spans: ReadableSpan[];
  interesting: boolean;
  since: number;
}

/**
 * Exports every trace in which this process saw an error or a slow span, and of the others a
 * share chosen by trace id — the same share in every process, so a kept healthy trace is kept
 * whole across the network. Spans are not exported as they end: they wait, per trace, until the
 * span that began the trace in this process (its local root: no parent, or a parent from another
 * process) ends, and then go to `next` together or not at all. A span that ends after its trace
 * was decided follows the decision, unless it is itself an error or slow.
 *
 * Spans are still created and propagated for every call (the hub's timeline records trace ids,
 * logs carry them); what is saved is serialising, sending and storing the uninteresting ones.
 */
export class KeepInterestingTracesProcessor implements SpanProcessor {
  private readonly open = new Map<string, OpenTrace>();
  /** Recent decisions, oldest first (a Map keeps insertion order), so late spans follow them. */
  private readonly decided = new Map<string, boolean>();
  private readonly threshold: number;
  private readonly slowNanos: number;
  private readonly maxOpenTraces: number;
  private readonly maxSpansPerTrace: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly next: SpanProcessor,
    options: KeepInterestingTracesOptions,
  ) {
    this.threshold = Math.max(0, Math.min(1, options.keepRatio)) * 0x1_0000_0000;
    this.slowNanos = options.slowMs * 1e6;
    this.maxOpenTraces = options.maxOpenTraces ?? 10_000;
    this.maxSpansPerTrace = options.maxSpansPerTrace ?? 1_000;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
  }

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    // Kept by its id: no need to wait for anything.
    if (this.keptById(traceId)) return this.next.onEnd(span);
    const decision = this.decided.get(traceId);
    if (decision !== undefined) {
      if (decision || this.isInteresting(span)) this.next.onEnd(span);
      return;
    }
    let trace = this.open.get(traceId);
    if (!trace) {
      trace = { spans: [], interesting: false, since: Date.now() };
      this.open.set(traceId, trace);
    }
    trace.spans.push(span);
    if (!trace.interesting && this.isInteresting(span)) trace.interesting = true;
    const parent = span.parentSpanContext;
    if (!parent || parent.isRemote || trace.spans.length >= this.maxSpansPerTrace) this.decide(traceId, trace);
    this.decideStale();
  }

  async forceFlush(): Promise<void> {
    await this.next.forceFlush();
  }

  async shutdown(): Promise<void> {
    for (const [traceId, trace] of [...this.open]) this.decide(traceId, trace);
    await this.next.shutdown();
  }

  /** The same test in every process: the low 32 bits of the trace id against the ratio. */
  private keptById(traceId: string): boolean {
    return Number.parseInt(traceId.slice(-8), 16) < this.threshold;
  }

  private isInteresting(span: ReadableSpan): boolean {
    if (span.status.code === SpanStatusCode.ERROR) return true;
    const [seconds, nanos] = span.duration;
    return seconds * 1e9 + nanos >= this.slowNanos;
  }

  private decide(traceId: string, trace: OpenTrace): void {
    this.open.delete(traceId);
    if (trace.interesting) for (const span of trace.spans) this.next.onEnd(span);
    this.decided.set(traceId, trace.interesting);
    if (this.decided.size > this.maxOpenTraces) this.decided.delete(this.decided.keys().next().value!);
  }

  /** Bounds memory: a trace whose local root never ends here is decided on what it has. */
  private decideStale(): void {
    const now = Date.now();
    for (const [traceId, trace] of this.open) {
      if (this.open.size <= this.maxOpenTraces && now - trace.since < this.maxWaitMs) break;
      this.decide(traceId, trace);
    }
  }
}
