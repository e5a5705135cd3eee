import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';

/**
 * The console's own polling (health, outbox, parked messages, the hub's timeline) would otherwise
 * come back to it as traces of the deployments it polls, drowning the network's traffic. Each such
 * call carries a trace id of its own making; ingest drops spans with one of these ids.
 */
export class QuietTraces {
  private readonly ids = new Map<string, number>();

  constructor(private readonly keepMs = 10 * 60_000) {}

  /** Metadata with a fresh traceparent whose trace is not stored. */
  metadata(): Metadata {
    const traceId = randomBytes(16).toString('hex');
    this.ids.set(traceId, Date.now());
    if (this.ids.size > 5000) this.prune();
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
    return metadata;
  }

  has(traceId: string): boolean {
    return this.ids.has(traceId);
  }

  prune(now = Date.now()): void {
    for (const [id, at] of this.ids) if (now - at > this.keepMs) this.ids.delete(id);
  }
}
