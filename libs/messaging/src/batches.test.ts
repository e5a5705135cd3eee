import { describe, expect, it } from 'vitest';
import { waitingBatches } from './batches.js';

/** A source the test feeds by hand, like a consumer's message iterator. */
function handFed<T>() {
  const items: T[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  let pulled = 0;
  const source: AsyncIterable<T> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (items.length) {
          pulled++;
          yield items.shift()!;
        } else if (closed) return;
        else await new Promise<void>((r) => (wake = r));
      }
    },
  };
  return {
    source,
    push(...xs: T[]) {
      items.push(...xs);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
    pulled: () => pulled,
  };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('waitingBatches', () => {
  it('hands over a lone item at once, without waiting for a batch to fill', async () => {
    const feed = handFed<number>();
    const it = waitingBatches(feed.source, 10)[Symbol.asyncIterator]();
    const next = it.next();
    feed.push(1);
    expect(await next).toEqual({ done: false, value: [1] });
    feed.close();
    expect((await it.next()).done).toBe(true);
  });

  it('groups what arrived while the consumer was busy, in order, at most max at a time', async () => {
    const feed = handFed<number>();
    const seen: number[][] = [];
    const done = (async () => {
      for await (const batch of waitingBatches(feed.source, 3)) {
        seen.push(batch);
        await tick(); // busy: the rest arrives meanwhile
      }
    })();
    feed.push(1);
    await tick();
    feed.push(2, 3, 4, 5, 6, 7);
    await tick();
    feed.close();
    await done;
    expect(seen.flat()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seen[0]).toEqual([1]);
    expect(Math.max(...seen.map((b) => b.length))).toBe(3);
    expect(seen.some((b) => b.length > 1)).toBe(true);
  });

  it('pulls no more than max items ahead of a consumer that is stuck', async () => {
    const feed = handFed<number>();
    feed.push(...Array.from({ length: 50 }, (_, i) => i));
    const it = waitingBatches(feed.source, 4)[Symbol.asyncIterator]();
    const first = await it.next();
    await tick();
    // The first batch is out, the queue holds max more, and the pump waits.
    expect((first.value as number[]).length).toBeLessThanOrEqual(4);
    expect(feed.pulled()).toBeLessThanOrEqual((first.value as number[]).length + 4);
    await it.return(undefined);
  });

  it('passes on a failure of the source after the items before it', async () => {
    async function* failing() {
      yield 1;
      throw new Error('source broke');
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const batch of waitingBatches(failing(), 5)) seen.push(...batch);
      })(),
    ).rejects.toThrow('source broke');
    expect(seen).toEqual([1]);
  });
});
