/**
 * Groups an async source into arrays of what is already waiting: under light load each array
 * holds one item and nothing waits for a batch to fill; when the consumer falls behind, the
 * items that arrived meanwhile come together. At most `max` items are taken from the source
 * ahead of the consumer, so the source's own flow control still bounds what is pulled.
 */
export async function* waitingBatches<T>(source: AsyncIterable<T>, max: number): AsyncGenerator<T[]> {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`waitingBatches: max must be a positive integer, got ${max}`);
  const queue: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;

  const pump = (async () => {
    try {
      for await (const item of source) {
        queue.push(item);
        wakeConsumer?.();
        while (queue.length >= max) await new Promise<void>((resolve) => (wakeProducer = resolve));
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      wakeConsumer?.();
    }
  })();

  for (;;) {
    if (queue.length === 0) {
      if (ended) break;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
      wakeConsumer = undefined;
      continue;
    }
    const batch = queue.splice(0, max);
    const producer = wakeProducer;
    wakeProducer = undefined;
    producer?.();
    yield batch;
  }
  await pump;
  if (failure) throw failure.error;
}
