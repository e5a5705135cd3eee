import { describe, expect, it } from 'vitest';
import { CachedSample } from './metrics.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CachedSample', () => {
  it('reads once for concurrent and quick successive collections', async () => {
    let reads = 0;
    const sample = new CachedSample(async () => ++reads, { minAgeMs: 1_000 });
    expect(await Promise.all([sample.get(), sample.get()])).toEqual([1, 1]);
    expect(await sample.get()).toBe(1);
    expect(reads).toBe(1);
  });

  it('does not hold a collection up behind a slow read, and reports the value once it came', async () => {
    let reads = 0;
    const sample = new CachedSample(
      async () => {
        await sleep(100);
        return ++reads;
      },
      { minAgeMs: 0, waitMs: 10 },
    );
    expect(await sample.get()).toBeUndefined();
    await sleep(150);
    // The finished read is reported while the next one runs.
    expect(await sample.get()).toBe(1);
    expect(reads).toBe(1);
  });

  it('keeps the last value when a read fails', async () => {
    let fail = false;
    const errors: unknown[] = [];
    const sample = new CachedSample(
      async () => {
        if (fail) throw new Error('database gone');
        return 7;
      },
      { minAgeMs: 0, onError: (error) => errors.push(error) },
    );
    expect(await sample.get()).toBe(7);
    fail = true;
    expect(await sample.get()).toBe(7);
    expect(errors).toHaveLength(1);
  });
});
