// A trace's spans as a waterfall: parents before children, siblings by start time, each with its
// depth and its offset from the start of the trace. Pure; the web UI only draws it.

export interface WaterfallInput {
  spanId: string;
  parentSpanId: string | null;
  service: string;
  name: string;
  startUs: number;
  durationUs: number;
  error: boolean;
}

export type WaterfallRow<S extends WaterfallInput> = S & {
  depth: number;
  /** Microseconds from the trace's first span start. */
  offsetUs: number;
  /** The parent is not (yet) in the store: it may arrive later or was dropped by retention. */
  orphan: boolean;
};

export interface Waterfall<S extends WaterfallInput> {
  startUs: number;
  durationUs: number;
  rows: WaterfallRow<S>[];
  /** Services in order of first appearance, with their span and error counts. */
  services: { service: string; spans: number; errors: number }[];
  errors: number;
}

export function buildWaterfall<S extends WaterfallInput>(spans: readonly S[]): Waterfall<S> {
  if (spans.length === 0) return { startUs: 0, durationUs: 0, rows: [], services: [], errors: 0 };
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map<string, S[]>();
  const roots: S[] = [];
  for (const span of spans) {
    const parent = span.parentSpanId && span.parentSpanId !== span.spanId ? byId.get(span.parentSpanId) : undefined;
    if (parent) {
      const list = children.get(parent.spanId) ?? [];
      list.push(span);
      children.set(parent.spanId, list);
    } else {
      roots.push(span);
    }
  }
  const byStart = (a: S, b: S) => a.startUs - b.startUs || a.name.localeCompare(b.name);
  const startUs = Math.min(...spans.map((s) => s.startUs));
  const endUs = Math.max(...spans.map((s) => s.startUs + s.durationUs));
  const rows: WaterfallRow<S>[] = [];
  const visited = new Set<string>();
  // Iterative depth-first walk: a deep trace must not overflow the stack, and a cycle in broken
  // input (a span that is its own ancestor) must not loop forever.
  const stack: { span: S; depth: number }[] = [...roots].sort(byStart).reverse().map((span) => ({ span, depth: 0 }));
  while (stack.length) {
    const { span, depth } = stack.pop()!;
    if (visited.has(span.spanId)) continue;
    visited.add(span.spanId);
    rows.push({ ...span, depth, offsetUs: span.startUs - startUs, orphan: depth === 0 && span.parentSpanId !== null && !byId.has(span.parentSpanId) });
    const kids = (children.get(span.spanId) ?? []).slice().sort(byStart).reverse();
    for (const child of kids) stack.push({ span: child, depth: depth + 1 });
  }
  // Spans only reachable through a cycle: show them at the end rather than not at all.
  for (const span of [...spans].sort(byStart)) {
    if (!visited.has(span.spanId)) rows.push({ ...span, depth: 0, offsetUs: span.startUs - startUs, orphan: true });
  }
  const services = new Map<string, { service: string; spans: number; errors: number }>();
  for (const row of rows) {
    const entry = services.get(row.service) ?? { service: row.service, spans: 0, errors: 0 };
    entry.spans++;
    if (row.error) entry.errors++;
    services.set(row.service, entry);
  }
  return { startUs, durationUs: endUs - startUs, rows, services: [...services.values()], errors: rows.filter((r) => r.error).length };
}
