import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { lotsenhaus, operator, statistics } from '@lotse/contracts';
import type { Kysely } from '@lotse/db';
import { createClient, type PromiseClient, type TlsIdentity } from '@lotse/grpc';
import type { Logger } from '@lotse/logger';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { service as healthService } from 'grpc-health-check';
import type { ConsoleDb } from '../db/schema.js';
import { QuietTraces } from './quiet-traces.js';

export type Health = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'UNREACHABLE' | 'CHECKING';

export interface DeploymentState {
  id: string;
  address: string;
  hub: boolean;
  health: Health;
  latencyMs: number | null;
  /** When it last answered SERVING. */
  lastSeenAt: string | null;
  lastCheckAt: string | null;
  problem: string | null;
  /** Its OperatorService: ok, or why not (e.g. UNIMPLEMENTED while a deployment lacks it). */
  operatorApi: string;
  outbox: {
    backlog: number;
    parked: number;
    oldestUnpublishedAt: string | null;
    /** What the deployment did when the broker lost its stream (it heals itself; this says it did). */
    streamResets: number;
    lastStreamResetAt: string | null;
    republishedAtLastReset: number;
    confirmedBefore: string | null;
    durablesRecreated: number;
    /** Answers the deployment waits for (e.g. referral requests the hub never answered), and what is stuck. */
    awaiting: { eventType: string; waitsOn: string; waiting: number; stuck: number; oldestAt: string | null }[];
  } | null;
}

export interface ConsumerState {
  stream: string;
  name: string;
  filter: string;
  pending: number;
  ackPending: number;
  redelivered: number;
  lastActiveAt: string | null;
}

export interface StreamState {
  name: string;
  subjects: string[];
  messages: number;
  bytes: number;
  consumers: ConsumerState[];
}

export interface NetworkWatcherOptions {
  db: Kysely<ConsoleDb>;
  logger: Logger;
  identity: TlsIdentity;
  /** The console's certificate id: names its NATS inbox. */
  consoleId?: string;
  deployments: Map<string, string>;
  hubId?: string;
  natsUrl?: string;
  pollIntervalMs: number;
  onChange(what: 'deployments' | 'streams'): void;
}

type HealthClient = Client & { check(req: { service: string }, options: { deadline: Date }, cb: (e: ServiceError | null, r: { status: string | number }) => void): void };
const HealthClient = makeGenericClientConstructor(healthService, 'Health') as unknown as new (address: string, creds: ReturnType<typeof credentials.createSsl>) => HealthClient;

const statusNames = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
export const grpcStatusName = (code: number | undefined) => (code === undefined ? 'ERROR' : statusNames[code] ?? String(code));

/**
 * Watches the network from outside, as an operator would: gRPC health and the outbox of every
 * deployment, and the streams and consumers in JetStream. Keeps the latest state for the views
 * and a sample of each poll for the charts.
 */
export class NetworkWatcher {
  readonly quiet = new QuietTraces();
  private readonly health = new Map<string, HealthClient>();
  private readonly operators = new Map<string, PromiseClient<operator.OperatorServiceClient>>();
  private hubClient: PromiseClient<lotsenhaus.LotsenhausServiceClient> | undefined;
  private statisticsClient: PromiseClient<statistics.StatisticsServiceClient> | undefined;
  private readonly state = new Map<string, DeploymentState>();
  private streamState: StreamState[] = [];
  natsProblem: string | null = null;
  private nc: NatsConnection | undefined;
  private jsm: JetStreamManager | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: NetworkWatcherOptions) {
    for (const [id, address] of options.deployments) {
      this.state.set(id, {
        id,
        address,
        hub: id === options.hubId,
        health: 'CHECKING',
        latencyMs: null,
        lastSeenAt: null,
        lastCheckAt: null,
        problem: null,
        operatorApi: 'unknown',
        outbox: null,
      });
    }
  }

  deployments(): DeploymentState[] {
    return [...this.state.values()].map((d) => ({ ...d }));
  }

  streams(): StreamState[] {
    return this.streamState;
  }

  /** The deployment's OperatorService, called with the console's certificate (agency type operator). */
  operator(id: string): PromiseClient<operator.OperatorServiceClient> {
    const address = this.options.deployments.get(id);
    if (!address) throw new Error(`unknown deployment ${id}`);
    let client = this.operators.get(id);
    if (!client) {
      client = createClient(operator.OperatorServiceClient, address, this.options.identity, { deadlineMs: 10_000, serverAgencyId: id });
      this.operators.set(id, client);
    }
    return client;
  }

  /** The hub's StatisticsService (the coordination circle's anonymous tables). */
  statistics(): PromiseClient<statistics.StatisticsServiceClient> | undefined {
    const { hubId, deployments } = this.options;
    if (!hubId) return undefined;
    this.statisticsClient ??= createClient(statistics.StatisticsServiceClient, deployments.get(hubId)!, this.options.identity, { deadlineMs: 30_000, serverAgencyId: hubId });
    return this.statisticsClient;
  }

  hub(): PromiseClient<lotsenhaus.LotsenhausServiceClient> | undefined {
    const { hubId, deployments } = this.options;
    if (!hubId) return undefined;
    this.hubClient ??= createClient(lotsenhaus.LotsenhausServiceClient, deployments.get(hubId)!, this.options.identity, { deadlineMs: 10_000, serverAgencyId: hubId });
    return this.hubClient;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.polling = this.pollOnce()
        .catch((error) => this.options.logger.warn({ err: error }, 'poll failed'))
        .finally(() => {
          this.polling = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.options.pollIntervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    for (const c of this.health.values()) c.close();
    for (const c of this.operators.values()) c.close();
    this.hubClient?.close();
    this.statisticsClient?.close();
    if (this.nc && !this.nc.isClosed()) await this.nc.close();
  }

  async pollOnce(): Promise<void> {
    const now = Date.now();
    await Promise.all([...this.state.keys()].map((id) => this.checkDeployment(id)));
    const samples = this.deployments().map((d) => ({
      time_us: now * 1000,
      deployment_id: d.id,
      health: d.health,
      latency_ms: d.latencyMs,
      outbox_backlog: d.outbox?.backlog ?? null,
      parked: d.outbox?.parked ?? null,
    }));
    if (samples.length) await this.options.db.insertInto('deployment_sample').values(samples).execute();
    this.options.onChange('deployments');
    if (this.options.natsUrl) {
      await this.pollJetStream(now);
      this.options.onChange('streams');
    }
    this.quiet.prune();
  }

  private async checkDeployment(id: string): Promise<void> {
    const d = this.state.get(id)!;
    const started = performance.now();
    const health = await this.checkHealth(id, d.address);
    d.lastCheckAt = new Date().toISOString();
    d.health = health.status;
    d.problem = health.problem;
    d.latencyMs = health.status === 'UNREACHABLE' ? null : Math.round((performance.now() - started) * 10) / 10;
    if (health.status === 'SERVING') d.lastSeenAt = d.lastCheckAt;
    if (health.status !== 'SERVING') return;
    try {
      const status = await this.operator(id).getOutboxStatus({}, { deadlineMs: 3000, metadata: this.quiet.metadata() });
      d.outbox = {
        backlog: status.backlog,
        parked: status.parked,
        oldestUnpublishedAt: status.oldestUnpublishedAt?.toISOString() ?? null,
        streamResets: status.streamResets,
        lastStreamResetAt: status.lastStreamResetAt?.toISOString() ?? null,
        republishedAtLastReset: status.republishedAtLastReset,
        confirmedBefore: status.confirmedBefore?.toISOString() ?? null,
        durablesRecreated: status.durablesRecreated,
        awaiting: status.awaiting.map((a) => ({ eventType: a.eventType, waitsOn: a.waitsOn, waiting: a.waiting, stuck: a.stuck, oldestAt: a.oldestAt?.toISOString() ?? null })),
      };
      d.operatorApi = 'ok';
    } catch (error) {
      d.outbox = null;
      d.operatorApi = grpcStatusName((error as ServiceError).code);
    }
  }

  private checkHealth(id: string, address: string): Promise<{ status: Health; problem: string | null }> {
    let client = this.health.get(id);
    if (!client) {
      const { ca, key, cert } = this.options.identity;
      client = new HealthClient(address, credentials.createSsl(ca, key, cert));
      this.health.set(id, client);
    }
    return new Promise((resolve) => {
      client!.check({ service: '' }, { deadline: new Date(Date.now() + 2000) }, (error, response) => {
        if (error) resolve({ status: 'UNREACHABLE', problem: `${grpcStatusName(error.code)}: ${error.details}` });
        else {
          const status = typeof response.status === 'number' ? (['UNKNOWN', 'SERVING', 'NOT_SERVING'][response.status] ?? 'UNKNOWN') : response.status;
          resolve({ status: status as Health, problem: null });
        }
      });
    });
  }

  private async pollJetStream(now: number): Promise<void> {
    try {
      if (!this.nc || this.nc.isClosed()) {
        const url = this.options.natsUrl!;
        const { ca, cert, key } = this.options.identity;
        this.nc = await connect({
          servers: url,
          name: 'lotse-console',
          maxReconnectAttempts: -1,
          timeout: 3000,
          // The broker's generated permissions let the console read stream and consumer state only,
          // with answers on an inbox of its own (libs/messaging brokerConfig, observers).
          inboxPrefix: `_INBOX_${this.options.consoleId ?? 'console'}`,
          ...(url.startsWith('tls://') ? { tls: { ca: String(ca), cert: String(cert), key: String(key) } } : {}),
        });
        this.jsm = await jetstreamManager(this.nc);
      }
      const jsm = this.jsm!;
      const streams: StreamState[] = [];
      for await (const info of jsm.streams.list()) {
        if (!info.config.subjects?.some((s) => s.startsWith('lotse.'))) continue;
        const consumers: ConsumerState[] = [];
        for await (const c of jsm.consumers.list(info.config.name)) {
          consumers.push({
            stream: info.config.name,
            name: c.name,
            filter: c.config.filter_subject ?? '',
            pending: c.num_pending,
            ackPending: c.num_ack_pending,
            redelivered: c.num_redelivered,
            lastActiveAt: c.delivered?.last_active ? String(c.delivered.last_active) : null,
          });
        }
        consumers.sort((a, b) => a.name.localeCompare(b.name));
        streams.push({ name: info.config.name, subjects: info.config.subjects ?? [], messages: info.state.messages, bytes: info.state.bytes, consumers });
      }
      streams.sort((a, b) => a.name.localeCompare(b.name));
      this.streamState = streams;
      this.natsProblem = null;
      const samples = streams.flatMap((s) =>
        s.consumers.map((c) => ({ time_us: now * 1000, stream: s.name, consumer: c.name, pending: c.pending, ack_pending: c.ackPending, redelivered: c.redelivered })),
      );
      if (samples.length) await this.options.db.insertInto('stream_sample').values(samples).execute();
    } catch (error) {
      this.natsProblem = (error as Error).message;
      this.options.logger.warn({ err: error }, 'reading JetStream state failed');
    }
  }
}
