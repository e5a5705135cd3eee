import { describe, expect, it } from 'vitest';
import { summarise } from './stats.js';

describe('summarise', () => {
  it('takes nearest-rank percentiles', () => {
    const s = summarise(Array.from({ length: 100 }, (_, i) => i + 1));
    expect([s.p50, s.p90, s.p99, s.max]).toEqual([50, 90, 99, 100]);
    expect(summarise([7]).p99).toBe(7);
  });
});
