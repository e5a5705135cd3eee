import type { JetStreamManager } from '@nats-io/jetstream';
import { context, metrics, ROOT_CONTEXT, type Attributes, type Counter, type Meter, type ObservableResult } from '@opentelemetry/api';
import { sql, type Kysely } from 'kysely';

/** Every Lotse instrument lives on this meter. */
export const METER_NAME = 'lotse';

export type ConsumeOutcome = 'applied' | 'duplicate' | 'retried' | 'parked';

interface Instruments {
  meter: Meter;
  published: Counter;
  consumed: Counter;
}

let instruments: Instruments | undefined;

/**
 * The metrics API has no proxy: a meter fetched before the SDK is registered stays a no-op
 * forever. So the instruments are (re)made whenever the API hands out another meter — once per
 * process with the preload, again after a test restarted telemetry. getMeter is a map lookup.
 */
function current(): Instruments {
  const meter = metrics.getMeter(METER_NAME);
  if (instruments?.meter !== meter) {
    instruments = {
      meter,
      published: meter.createCounter('lotse.events.published', {
        description: 'Events the outbox relay published to JetStream (copies the broker already had are not counted)',
        unit: '{event}',
      }),
      consumed: meter.createCounter('lotse.events.consumed', {
        description: 'Deliveries a consumer processed, by outcome: applied, duplicate (already applied), retried (nak) or parked',
        unit: '{event}',
      }),
    };
  }
  return instruments;
}

export function countPublished(subject: string, eventType: string): void {
  current().published.add(1, { 'messaging.destination.name': subject, 'lotse.event_type': eventType });
}

export function countConsumed(subject: string, eventType: string | undefined, outcome: ConsumeOutcome): void {
  current().consumed.add(1, { 'messaging.destination.name': subject, 'lotse.event_type': eventType || 'unknown', 'lotse.outcome': outcome });
}

/**
 * A value read from the database or the broker for an observable gauge. Collection never waits
 * long and never stacks reads: at most one read is in flight, a value younger than minAgeMs is
 * reused (so two readers, or a reader collecting often, cause one query), and a read that takes
 * longer than waitMs — the embedded database has one connection, busy with a long transaction —
 * is not waited for: the last value is reported and the read finishes in the background.
 */
export class CachedSample<T> {
  private value: T | undefined;
  private readAt = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: { minAgeMs?: number; waitMs?: number; onError?: (error: unknown) => void } = {},
  ) {}

  async get(): Promise<T | undefined> {
    if (Date.now() - this.readAt < (this.options.minAgeMs ?? 1_000)) return this.value;
    // Outside any trace: a metrics read is no part of the request that happened to trigger a collection.
    this.inFlight ??= context.with(ROOT_CONTEXT, this.read).then(
      (value) => {
        this.value = value;
        this.readAt = Date.now();
        this.inFlight = undefined;
      },
      (error: unknown) => {
        this.inFlight = undefined;
        this.options.onError?.(error);
      },
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.inFlight, new Promise((resolve) => (timer = setTimeout(resolve, this.options.waitMs ?? 2_000)))]);
    clearTimeout(timer);
    return this.value;
  }
}

export interface MessagingGaugeOptions {
  /** The deployment's database with the outbox and parked_message tables. */
  db: Kysely<any>;
  /** Becomes the `lotse.agency_id` attribute: several deployments may share one process in tests. */
  agencyId: string;
  /** For consumer lag: the broker's view of each durable. */
  jsm?: JetStreamManager;
  consumers?: { stream: string; durableNames: readonly string[] }[];
  onError?: (error: unknown) => void;
}

/**
 * Registers the deployment's observable gauges: `lotse.outbox.backlog` (events not yet confirmed
 * by the broker), `lotse.parked.messages` (unresolved dead letters), `lotse.stream.resets` (the
broker lost the stream and the relay rebuilt it) and `lotse.consumer.lag`
 * (messages a durable has not acknowledged yet, per durable). Outbox and parked counts come from
 * one query per collection at most. Returns the function that unregisters them.
 */
export function registerMessagingGauges(options: MessagingGaugeOptions): () => void {
  const meter = metrics.getMeter(METER_NAME);
  const base: Attributes = { 'lotse.agency_id': options.agencyId };
  const counts = new CachedSample(async () => {
    const { rows } = await sql<{ backlog: number; parked: number; resets: number }>`
      select (select count(*)::int from outbox where published_at is null) as backlog,
             (select count(*)::int from parked_message where replayed_at is null and discarded_at is null) as parked,
             (select coalesce(sum(resets), 0)::int from outbox_stream) as resets`.execute(options.db);
    return rows[0]!;
  }, { onError: options.onError });

  const backlog = meter.createObservableGauge('lotse.outbox.backlog', { description: 'Events in the outbox not yet confirmed by the broker', unit: '{event}' });
  const parked = meter.createObservableGauge('lotse.parked.messages', { description: 'Parked messages neither replayed nor discarded', unit: '{message}' });
  const resets = meter.createObservableGauge('lotse.stream.resets', {
    description: 'Times the broker came back without this deployment\'s stream, which it then made again and re-published into',
    unit: '{reset}',
  });
  const lag = meter.createObservableGauge('lotse.consumer.lag', {
    description: 'Messages of the stream a durable consumer has not acknowledged yet (pending + unacknowledged)',
    unit: '{message}',
  });

  const observeBacklog = async (result: ObservableResult) => {
    const value = await counts.get();
    if (value) result.observe(value.backlog, base);
  };
  const observeParked = async (result: ObservableResult) => {
    const value = await counts.get();
    if (value) result.observe(value.parked, base);
  };
  const observeResets = async (result: ObservableResult) => {
    const value = await counts.get();
    if (value) result.observe(value.resets, base);
  };
  const durables = (options.consumers ?? []).flatMap((c) => c.durableNames.map((durable) => ({ stream: c.stream, durable })));
  const lagSample = new CachedSample(async () => {
    const out: { durable: string; stream: string; lag: number }[] = [];
    for (const { stream, durable } of durables) {
      const info = await options.jsm!.consumers.info(stream, durable);
      out.push({ durable, stream, lag: info.num_pending + info.num_ack_pending });
    }
    return out;
  }, { onError: options.onError });
  const observeLag = async (result: ObservableResult) => {
    for (const { durable, lag: value } of (await lagSample.get()) ?? []) {
      result.observe(value, { ...base, 'messaging.consumer.group.name': durable });
    }
  };

  backlog.addCallback(observeBacklog);
  parked.addCallback(observeParked);
  resets.addCallback(observeResets);
  if (options.jsm && durables.length) lag.addCallback(observeLag);
  return () => {
    backlog.removeCallback(observeBacklog);
    parked.removeCallback(observeParked);
    resets.removeCallback(observeResets);
    lag.removeCallback(observeLag);
  };
}
