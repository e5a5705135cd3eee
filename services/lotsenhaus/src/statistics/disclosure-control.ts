// Statistical disclosure control for the coordination circle's tables: every published table is
// one dimension's counts with their total (a one-way frequency table), so the only equation an
// observer has is "the cells add up to the total".
//
// - Primary suppression: a cell with 1 to min−1 cases is not published (the Federal Employment
//   Agency's rule, min 3 by default). Zero is published: an empty cell names nobody.
// - Secondary suppression: the total would give away a single suppressed cell (total minus the
//   rest); several suppressed cells that add up to exactly their number must each be 1
//   (suppressed cells are never zero); and hidden cells are bounded above by the threshold
//   they were hidden below (min at first, which an observer knows). So the cells hidden are always all non-zero cells below a threshold, raised
//   from min until at least two are hidden and their sum lies strictly between their number and
//   their number times that upper bound.
// - A table whose total is below min is not published at all, and neither is one whose
//   suppression could not be made safe (too few non-zero cells).
// The property test (disclosure-control.test.ts) checks, with an observer who knows this very
// algorithm, that no suppressed cell can be recomputed.

export const defaultMinCount = 3;

export interface Cell {
  key: string;
  count: number;
}

export type PublishedCell = { key: string; count: number; suppressed: false } | { key: string; suppressed: true; primary: boolean };

export interface PublishedTable {
  /** undefined: nothing published (total below the minimum, or no safe pattern). */
  cells?: PublishedCell[];
  total?: number;
  withheld?: 'total-below-minimum' | 'no-safe-pattern';
}

export function suppress(cells: readonly Cell[], minCount = defaultMinCount): PublishedTable {
  if (!Number.isInteger(minCount) || minCount < 1) throw new Error(`minCount must be a whole number ≥ 1, not ${minCount}`);
  const total = cells.reduce((s, c) => s + c.count, 0);
  if (total < minCount) return { withheld: 'total-below-minimum' };
  const primary = new Set<number>();
  cells.forEach((c, i) => c.count > 0 && c.count < minCount && primary.add(i));
  // Hidden are all non-zero cells below a threshold, never some cells of a value and not others:
  // an observer then knows only that each hidden cell is at least 1 and below the smallest
  // published non-zero cell. The threshold starts at min and rises to the next value present
  // until that knowledge and the sum leave every hidden cell at least two possible values.
  let threshold = minCount;
  let hidden = new Set(primary);
  const values = [...new Set(cells.map((c) => c.count).filter((n) => n > 0))].sort((a, b) => a - b);
  for (;;) {
    if (hidden.size === 0) break;
    const sum = [...hidden].reduce((s, i) => s + cells[i]!.count, 0);
    // Every hidden cell is below the threshold, and an observer who knows the rule knows that much
    // (at the start, that all are below min); every published one is at or above it.
    const upper = cells.some((c, i) => !hidden.has(i) && c.count > 0) ? threshold - 1 : Infinity;
    if (hidden.size >= 2 && sum > hidden.size && sum < hidden.size * upper) break;
    const next = values.find((v) => v >= threshold);
    if (next === undefined) return { withheld: 'no-safe-pattern' };
    threshold = next + 1;
    hidden = new Set(cells.flatMap((c, i) => (c.count > 0 && c.count < threshold ? [i] : [])));
  }
  return {
    total,
    cells: cells.map((c, i) => (hidden.has(i) ? { key: c.key, suppressed: true, primary: primary.has(i) } : { key: c.key, count: c.count, suppressed: false })),
  };
}
