import { describe, expect, it } from 'vitest';
import { StallDetector, type DurableLook } from './stalled-durables.js';

const stallMs = 30_000;
const look = (over: Partial<DurableLook>): DurableLook => ({ deliveredSeq: 100, numPending: 0, numAckPending: 0, numWaiting: 1, matching: 100, ...over });

/** Feeds the looks 10 s apart and answers whether the last one was judged stalled. */
function judge(...looks: Partial<DurableLook>[]): boolean[] {
  const detector = new StallDetector(stallMs);
  return looks.map((l, i) => detector.observe(look(l), i * 10_000));
}

describe('StallDetector', () => {
  it('finds the stale leader of the CI run: delivered 6569, nothing pending, 7 pulls waiting, the stream’s leader at 6769', () => {
    // The figures of the fresh-clone run where nothing was applied for 120 s after a wiped store.
    const stale = { deliveredSeq: 6569, numPending: 0, numAckPending: 0, numWaiting: 7 };
    expect(judge({ ...stale, matching: 6600 }, { ...stale, matching: 6650 }, { ...stale, matching: 6700 }, { ...stale, matching: 6769 })).toEqual([false, false, false, true]);
  });

  it('finds a leader that counts messages pending and delivers none to a waiting pull', () => {
    const stuck = { deliveredSeq: 2572, numPending: 3747, matching: 6319 };
    expect(judge(stuck, stuck, stuck, stuck)).toEqual([false, false, false, true]);
  });

  it('leaves a durable alone that has nothing to do', () => {
    expect(judge({}, {}, {}, {}, {}, {})).toEqual([false, false, false, false, false, false]);
  });

  it('leaves a durable alone that delivers, however slowly', () => {
    expect(judge({ deliveredSeq: 1, matching: 50 }, { deliveredSeq: 2, matching: 60 }, { deliveredSeq: 3, matching: 70 }, { deliveredSeq: 4, matching: 80 }, { deliveredSeq: 5, matching: 90 })).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('leaves a durable alone while its handler holds messages (ack pending) or no pull of ours waits', () => {
    const busy = { numPending: 40, numAckPending: 10, matching: 150 };
    expect(judge(busy, busy, busy, busy, busy)).toEqual([false, false, false, false, false]);
    const notPulling = { numPending: 40, numWaiting: 0, matching: 150 };
    expect(judge(notPulling, notPulling, notPulling, notPulling)).toEqual([false, false, false, false]);
  });

  it('starts afresh on a stream made again (fewer messages than before)', () => {
    const detector = new StallDetector(stallMs);
    detector.observe(look({ matching: 500 }), 0);
    // The stream was deleted and made again: 20 messages, delivered 100 is no longer comparable.
    expect(detector.observe(look({ matching: 20 }), 40_000)).toBe(false);
    expect(detector.observe(look({ matching: 30 }), 50_000)).toBe(false);
    expect(detector.observe(look({ matching: 40 }), 70_000)).toBe(true);
  });

  it('gives the broker a whole window after it was asked for a new leader', () => {
    const detector = new StallDetector(stallMs);
    const stale = look({ matching: 200 });
    detector.observe(look({}), 0);
    expect(detector.observe(stale, 30_000)).toBe(true);
    detector.restart(30_000);
    expect(detector.observe(stale, 50_000)).toBe(false);
    expect(detector.observe(stale, 60_000)).toBe(true);
  });
});
