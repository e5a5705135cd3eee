import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { suppress, type Cell, type PublishedTable } from './disclosure-control.js';

const cellsOf = (counts: number[]): Cell[] => counts.map((count, i) => ({ key: `k${i}`, count }));

/** What an observer sees: the published counts and total, which cells are hidden, and how (primary or not is not shown). */
function view(t: PublishedTable): string {
  if (!t.cells) return `withheld:${t.withheld}`;
  return JSON.stringify({ total: t.total, cells: t.cells.map((c) => (c.suppressed ? '*' : c.count)) });
}

/** Every vector of positive counts for the hidden cells that sums to the hidden sum. */
function* compositions(sum: number, parts: number): Generator<number[]> {
  if (parts === 0) {
    if (sum === 0) yield [];
    return;
  }
  if (parts === 1) {
    if (sum >= 1) yield [sum];
    return;
  }
  for (let first = 1; first <= sum - (parts - 1); first++) for (const rest of compositions(sum - first, parts - 1)) yield [first, ...rest];
}

/**
 * The values each hidden cell can have for an observer who knows the algorithm and the minimum:
 * every table that the same publication could have come from (zero cells are published, so the
 * hidden ones are at least 1; the algorithm is run on each candidate and must publish the same).
 */
function possibleValues(counts: number[], min: number): Map<number, Set<number>> {
  const published = suppress(cellsOf(counts), min);
  const seen = view(published);
  const hidden = published.cells!.flatMap((c, i) => (c.suppressed ? [i] : []));
  const hiddenSum = published.total! - published.cells!.reduce((s, c) => s + (c.suppressed ? 0 : c.count), 0);
  const values = new Map(hidden.map((i) => [i, new Set<number>()]));
  for (const candidate of compositions(hiddenSum, hidden.length)) {
    const full = [...counts];
    hidden.forEach((i, j) => (full[i] = candidate[j]!));
    if (view(suppress(cellsOf(full), min)) !== seen) continue;
    hidden.forEach((i, j) => values.get(i)!.add(candidate[j]!));
  }
  return values;
}

const tables = fc.record({
  min: fc.integer({ min: 2, max: 5 }),
  counts: fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 12 })), { minLength: 1, maxLength: 6 }),
});

describe('disclosure control of one-way tables', () => {
  it('publishes no cell of 1 to min−1 cases, and nothing at all below the minimum total', () => {
    fc.assert(
      fc.property(tables, ({ min, counts }) => {
        const t = suppress(cellsOf(counts), min);
        const total = counts.reduce((a, b) => a + b, 0);
        if (total < min) {
          expect(t.withheld).toBe('total-below-minimum');
          return;
        }
        if (!t.cells) {
          expect(t.withheld).toBe('no-safe-pattern');
          return;
        }
        t.cells.forEach((c, i) => {
          if (counts[i]! > 0 && counts[i]! < min) expect(c.suppressed).toBe(true);
          if (!c.suppressed) expect(c.count).toBe(counts[i]);
        });
        expect(t.total).toBe(total);
      }),
      { numRuns: 500 },
    );
  });

  it('lets no suppressed cell be recomputed, even by an observer who knows the algorithm', () => {
    fc.assert(
      fc.property(tables, ({ min, counts }) => {
        const t = suppress(cellsOf(counts), min);
        if (!t.cells) return;
        for (const [i, values] of possibleValues(counts, min)) {
          expect(values.has(counts[i]!), `the true value of cell ${i} is among the possible ones`).toBe(true);
          expect(values.size, `cell ${i} of ${JSON.stringify(counts)} (min ${min}) has one possible value`).toBeGreaterThan(1);
        }
      }),
      { numRuns: 4000 },
    );
  });

  it('the tables that broke earlier rules stay unrecomputable', () => {
    // Found by the property above: [3,3,4,3] at min 4 and [3,3,1,0] at min 2 (a rule that hid the
    // next smallest cell), [2,2,2,4] at min 3 (a bound taken from the smallest published cell).
    for (const [counts, min] of [[[3, 3, 4, 3], 4], [[3, 3, 1, 0], 2], [[2, 2, 2, 4], 3]] as [number[], number][]) {
      for (const values of possibleValues(counts, min).values()) expect(values.size, JSON.stringify(counts)).toBeGreaterThan(1);
    }
  });

  it('examples: a single small cell takes the next smallest with it; two ones take a third', () => {
    expect(view(suppress(cellsOf([1, 5, 9])))).toBe(JSON.stringify({ total: 15, cells: ['*', '*', 9] }));
    expect(view(suppress(cellsOf([1, 1, 9, 12])))).toBe(JSON.stringify({ total: 23, cells: ['*', '*', '*', 12] }));
    expect(view(suppress(cellsOf([3, 3, 4, 3]), 4))).toBe(JSON.stringify({ total: 13, cells: ['*', '*', '*', '*'] }));
    expect(view(suppress(cellsOf([0, 4, 9])))).toBe(JSON.stringify({ total: 13, cells: [0, 4, 9] }));
    expect(suppress(cellsOf([1, 1]))).toEqual({ withheld: 'total-below-minimum' });
    expect(suppress(cellsOf([1, 1, 1]), 2)).toEqual({ withheld: 'no-safe-pattern' });
    expect(view(suppress(cellsOf([2, 3]), 5))).toBe(JSON.stringify({ total: 5, cells: ['*', '*'] }));
  });
});
