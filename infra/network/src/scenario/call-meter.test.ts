import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CallMeter, previousAttempts } from './call-meter.js';

const attemptsHeader = (n: number) => {
  const m = new Metadata();
  m.set('grpc-previous-rpc-attempts', String(n));
  return m;
};

describe('CallMeter', () => {
  it('counts calls, accepted calls and refused attempts, grpc-js retries included', () => {
    const meter = new CallMeter();
    // Refused twice by admission control, then answered: three attempts, one call.
    meter.attempt(status.OK, 2);
    meter.call(status.OK, 450);
    // A domain error is an answer.
    meter.attempt(status.NOT_FOUND);
    meter.call(status.NOT_FOUND, 30);
    // grpc-js gave up after five refusals, the scenario sent it again and it was answered.
    meter.attempt(status.RESOURCE_EXHAUSTED, 4);
    meter.attempt(status.OK, 0);
    meter.call(status.OK, 1900);
    // Unavailable throughout, then a timeout: no answer.
    meter.attempt(status.UNAVAILABLE, 4);
    meter.attempt(status.DEADLINE_EXCEEDED);
    meter.call(status.DEADLINE_EXCEEDED, 20_000);
    // Failed without a gRPC status (a sign-in, say): no answer either.
    meter.call(undefined, 5);

    const c = meter.counts();
    expect(c).toMatchObject({ made: 5, accepted: 3, unanswered: 2, attempts: 16, refused: 12 });
    expect(c.refusedShare).toBeCloseTo(12 / 16);
    expect(c.acceptedLatency).toMatchObject({ n: 3, p50: 450, p99: 1900, max: 1900 });
  });

  it('takes nearest-rank percentiles of the accepted calls only', () => {
    const meter = new CallMeter();
    for (let ms = 1; ms <= 200; ms++) meter.call(status.OK, ms);
    meter.call(status.RESOURCE_EXHAUSTED, 99_999);
    const c = meter.counts();
    expect([c.acceptedLatency.p50, c.acceptedLatency.p99, c.acceptedLatency.max]).toEqual([100, 198, 200]);
    expect(c.unanswered).toBe(1);
  });

  it('has no share and no percentiles before any call', () => {
    const c = new CallMeter().counts();
    expect(c.made).toBe(0);
    expect(Number.isNaN(c.refusedShare)).toBe(true);
    expect(Number.isNaN(c.acceptedLatency.p99)).toBe(true);
  });
});

describe('previousAttempts', () => {
  it("reads grpc-js's count from the headers or, when no headers came, the status's metadata", () => {
    expect(previousAttempts(attemptsHeader(3), new Metadata())).toBe(3);
    expect(previousAttempts(undefined, attemptsHeader(4))).toBe(4);
    expect(previousAttempts(new Metadata(), new Metadata())).toBe(0);
    expect(previousAttempts(undefined, undefined)).toBe(0);
  });
});
