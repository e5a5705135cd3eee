import { describe, expect, it } from 'vitest';
import { buildWaterfall, type WaterfallInput } from './waterfall.js';

const span = (spanId: string, parentSpanId: string | null, service: string, startUs: number, durationUs: number, error = false): WaterfallInput => ({
  spanId,
  parentSpanId,
  service,
  name: `${service} ${spanId}`,
  startUs,
  durationUs,
  error,
});

describe('buildWaterfall', () => {
  it('orders parents before children, siblings by start, with depth and offset', () => {
    const w = buildWaterfall([
      span('c2', 'root', 'lotsenhaus', 1_300, 100),
      span('root', null, 'kv-mayen-koblenz', 1_000, 1_000),
      span('c1', 'root', 'kv-mayen-koblenz', 1_100, 50),
      span('g1', 'c2', 'caritas-koblenz', 1_350, 400, true),
    ]);
    expect(w.rows.map((r) => [r.spanId, r.depth, r.offsetUs])).toEqual([
      ['root', 0, 0],
      ['c1', 1, 100],
      ['c2', 1, 300],
      ['g1', 2, 350],
    ]);
    expect(w.startUs).toBe(1_000);
    expect(w.durationUs).toBe(1_000);
    expect(w.errors).toBe(1);
    expect(w.services).toEqual([
      { service: 'kv-mayen-koblenz', spans: 2, errors: 0 },
      { service: 'lotsenhaus', spans: 1, errors: 0 },
      { service: 'caritas-koblenz', spans: 1, errors: 1 },
    ]);
  });

  it('shows spans whose parent is missing as orphan roots, and survives cycles', () => {
    const w = buildWaterfall([span('a', 'missing', 'x', 10, 5), span('b', 'c', 'x', 20, 5), span('c', 'b', 'x', 30, 5)]);
    expect(w.rows).toHaveLength(3);
    expect(w.rows[0]).toMatchObject({ spanId: 'a', orphan: true, depth: 0 });
    expect(new Set(w.rows.map((r) => r.spanId))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('is empty for no spans', () => {
    expect(buildWaterfall([])).toEqual({ startUs: 0, durationUs: 0, rows: [], services: [], errors: 0 });
  });
});
