// The scenario's gRPC calls as the bench's overload step counts them: calls made, accepted (OK or
// a domain error), refused attempts (RESOURCE_EXHAUSTED or UNAVAILABLE, grpc-js's own retries
// included) and the latency of the accepted calls, from the first send to the answer. Only a run
// that is given a meter counts; without one the scenario's calls pay a property read.
import { status, type Metadata } from '@grpc/grpc-js';
import { summarise, type Summary } from '../bench/stats.js';

/** A call the server refused before doing anything, or could not take: worth asking again. */
export const isRefusal = (code: number | undefined) => code === status.RESOURCE_EXHAUSTED || code === status.UNAVAILABLE;

/**
 * Whether the call was answered: OK or a domain error (bad input, not found, not permitted, …).
 * Refusals, timeouts, cancellations, internal errors and failures without a gRPC status are not.
 */
export const isAnswer = (code: number | undefined) =>
  code !== undefined && !isRefusal(code) && code !== status.DEADLINE_EXCEEDED && code !== status.CANCELLED && code !== status.INTERNAL && code !== status.UNKNOWN;

/**
 * How many attempts grpc-js's retry policy made before the one that answered: it says so in
 * `grpc-previous-rpc-attempts` on the response headers or, when none came, on the status's
 * metadata. Each of those attempts ended with a retryable status (UNAVAILABLE or
 * RESOURCE_EXHAUSTED); its transparent retries of streams that never reached the server are not told.
 */
export function previousAttempts(headers: Metadata | undefined, trailers: Metadata | undefined): number {
  const read = (m: Metadata | undefined) => Number(m?.get('grpc-previous-rpc-attempts')[0] ?? 0) || 0;
  return Math.max(read(headers), read(trailers));
}

export interface CallCounts {
  /** Calls the scenario made (one per request, however often it was sent). */
  made: number;
  /** Calls answered OK or with a domain error in the end. */
  accepted: number;
  /** Calls that ended without an answer (refused or timed out after every retry, or failed otherwise). */
  unanswered: number;
  /** Attempts that reached a status, grpc-js's own retries and the scenario's repeats included. */
  attempts: number;
  /** Attempts answered RESOURCE_EXHAUSTED or UNAVAILABLE. */
  refused: number;
  /** refused ÷ attempts. */
  refusedShare: number;
  /** Accepted calls, client-side, from the first send to the answer (the scenario's repeats included). */
  acceptedLatency: Summary;
}

export class CallMeter {
  private made = 0;
  private unanswered = 0;
  private attempts = 0;
  private refused = 0;
  private readonly acceptedMs: number[] = [];

  /** One gRPC call's end: its final status and the attempts grpc-js made before it. */
  attempt(code: number, before = 0): void {
    this.attempts += 1 + before;
    this.refused += before + (isRefusal(code) ? 1 : 0);
  }

  /** One of the scenario's calls ended (after its repeats) with `code` (undefined: no gRPC status), `ms` after it was first sent. */
  call(code: number | undefined, ms: number): void {
    this.made++;
    if (isAnswer(code)) this.acceptedMs.push(ms);
    else this.unanswered++;
  }

  counts(): CallCounts {
    return {
      made: this.made,
      accepted: this.acceptedMs.length,
      unanswered: this.unanswered,
      attempts: this.attempts,
      refused: this.refused,
      refusedShare: this.attempts ? this.refused / this.attempts : NaN,
      acceptedLatency: summarise(this.acceptedMs),
    };
  }
}
