// Admission control at the gRPC edge: each server bounds the calls it works on at once, per
// class of method, and refuses the rest at once with RESOURCE_EXHAUSTED and a retry hint —
// rather than queueing them behind the database for tens of seconds (under twice its capacity
// the network's referral → hub p99 grew to 40 s). A refused call did nothing, so clients retry
// it safely (grpc-js honours `grpc-retry-pushback-ms` in its retry policy).

export type MethodClass = 'read' | 'write' | 'stream';

export interface AdmissionLimits {
  /** Unary calls that only read (Get…, List…, Verify…). */
  reads: number;
  /** Unary calls that change something. */
  writes: number;
  /** Server-streaming calls open at once (watchers). */
  streams: number;
  /** The hint given with a refusal. */
  retryAfterMs: number;
}

export const defaultAdmissionLimits: AdmissionLimits = { reads: 64, writes: 32, streams: 64, retryAfterMs: 200 };

const readPrefixes = ['Get', 'List', 'Verify', 'Describe'];

/** The class of a method by its name and whether it streams. */
export function methodClass(path: string, streaming: boolean): MethodClass {
  if (streaming) return 'stream';
  const method = path.split('/').pop() ?? '';
  return readPrefixes.some((p) => method.startsWith(p)) ? 'read' : 'write';
}

export class Admission {
  private readonly inFlight: Record<MethodClass, number> = { read: 0, write: 0, stream: 0 };
  /** Calls refused since start, per class (for the operator's view and the benchmark). */
  readonly refused: Record<MethodClass, number> = { read: 0, write: 0, stream: 0 };

  constructor(readonly limits: AdmissionLimits = defaultAdmissionLimits) {}

  /** Takes a slot of the class; returns its release, or undefined when the class is full. */
  enter(kind: MethodClass): (() => void) | undefined {
    const limit = kind === 'read' ? this.limits.reads : kind === 'write' ? this.limits.writes : this.limits.streams;
    if (this.inFlight[kind] >= limit) {
      this.refused[kind]++;
      return undefined;
    }
    this.inFlight[kind]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight[kind]--;
    };
  }

  busy(kind: MethodClass): number {
    return this.inFlight[kind];
  }
}
