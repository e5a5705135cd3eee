import { eventTypeOf, operator, receipts } from '@lotse/contracts';
import { createLogger, type Logger } from '@lotse/logger';
import { DatabaseWatch, migrateToLatest, openDatabase, type Kysely, type Migrations, type Transaction } from '@lotse/db';
import { accessMatrix, accessRefusal, eventFlows } from '@lotse/flows';
import { personAuthentication } from './person-authentication.js';
import { GrpcServer, idempotencyMigrations, type AsyncHandlers, type TlsIdentity } from '@lotse/grpc';
import {
  connectNats,
  wantsTls,
  enqueue,
  ensureAgencyStream,
  consumerMigrations,
  OutboxRelay,
  outboxMigrations,
  outboxWriteCount,
  registerMessagingGauges,
  startConsumer,
  EventSigner,
  EventVerifier,
  type ConsumerHandle,
  type ConsumerOptions,
  type MessageCodec,
} from '@lotse/messaging';
import { loadIdentity, RevocationWatch } from '@lotse/pki';
import type { AgencyConfig } from './agency-config.js';
import type { Subscription } from './dispatch.js';
import { operatorMigrations } from './operator/migrations.js';
import { OPERATOR_PROTO_FILE, operatorApi } from './operator/operator-api.js';
import { RECEIPTS_PROTO_FILE, receiptApi } from './receipts/receipt-api.js';

/** What a service's handlers get: its own database, its identity, and the outbox. */
export interface AgencyContext<DB> {
  agencyId: string;
  agencyType: string;
  logger: Logger;
  db: Kysely<DB>;
  identity: TlsIdentity;
  now(): Date;
  /** Runs fn in one transaction; events published inside it go out after it commits. */
  transact<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T>;
  /**
   * Puts an event into the outbox, inside the caller's transaction. Returns the event id. The
   * event's type is its codec's message name (eventTypeOf), never a second string.
   */
  publish<T>(trx: Transaction<DB>, codec: MessageCodec<T>, message: T, caseRef: string, audience?: string): Promise<string>;
}

export interface GrpcService<DB> {
  definition: Record<string, any>;
  /** Relative to proto/, for server reflection. */
  protoFile: string;
  handlers: AsyncHandlers<any>;
}

export interface AgencySpec<DB> {
  migrations: Migrations;
  services(ctx: AgencyContext<DB>): GrpcService<DB>[];
  subscriptions(ctx: AgencyContext<DB>): Subscription<DB>[];
  /** What the deployment waits to hear back about, for the operator's status (GetOutboxStatus). */
  awaiting?(ctx: AgencyContext<DB>): () => Promise<operator.AwaitedAnswer[]>;
}

export interface RunningAgency<DB> {
  ctx: AgencyContext<DB>;
  grpcPort: number;
  stop(): Promise<void>;
}

export interface AgencyOverrides {
  now?: () => Date;
  logger?: Logger;
  /** Retry and parking settings of every consumer (tests park after fewer, faster deliveries). */
  consumer?: Pick<ConsumerOptions<unknown>, 'maxDeliver' | 'retryDelaysMs' | 'ackWaitMs'>;
  /** The relay's fallback poll (tests show that a wake-up after a commit is not missed). */
  relayPollIntervalMs?: number;
}

/**
 * Starts one agency deployment: database and migrations, NATS stream, outbox relay, consumers,
 * the deployment's metrics, gRPC server with the service's own services and the operator API
 * (lotse.operator.v1) and the receipt API (lotse.receipts.v1) — and stops them in reverse order. Each service's create() calls this with
 * its own parts; nothing here knows an agency's domain.
 */
export async function startAgency<DB>(config: AgencyConfig, spec: AgencySpec<DB>, overrides: AgencyOverrides = {}): Promise<RunningAgency<DB>> {
  const logger = overrides.logger ?? createLogger(config.agencyId, { level: config.logLevel });
  const identity = loadIdentity(config.pkiDir, config.agencyId);
  const database = await openDatabase<DB>(config.database, {
    onConnectionError: (error) => logger.warn({ err: error.message }, 'database connection lost; the pool opens a new one when needed'),
  });
  // Set to the server's health once it listens; until then there is nothing to report to.
  let reportServing: (serving: boolean) => void = () => undefined;
  const watch = new DatabaseWatch({
    db: database.db as Kysely<any>,
    onChange: (up, error) => {
      if (up) logger.info('database reachable again; SERVING');
      else logger.warn({ err: error instanceof Error ? error.message : error }, 'database unreachable; NOT_SERVING until it is back');
      reportServing(up);
    },
  });
  const stops: (() => Promise<void>)[] = [() => database.close()];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) {
      await s().catch((error) => logger.error({ err: error }, 'error while stopping'));
    }
  };
  try {
    const applied = await migrateToLatest(database.db, idempotencyMigrations, outboxMigrations, consumerMigrations, operatorMigrations, spec.migrations);
    if (applied.length) logger.info({ migrations: applied }, 'database migrated');

    // The network's revocation list (signed by the CA), looked at every 5 s: a revoked deployment's
    // gRPC calls and events are refused here; the broker drops its user on its own reload.
    const revocations = new RevocationWatch(config.pkiDir, { onError: (error) => logger.error({ err: error }, 'the revocation list does not load; keeping the last good one') });
    stops.push(async () => revocations.stop());
    // Every event this deployment publishes is signed with its certificate's key; every event it
    // consumes is checked against the network's CA, the revocation list and the flow table before
    // a handler sees it. Unsigned events are accepted only on a plain nats:// broker (the shared
    // anonymous test broker, whose tests publish raw events); on the network's tls:// broker they
    // are refused. A signature that is there is always checked.
    const signatures = config.eventSignatures ?? (wantsTls(config.natsUrl) ? 'required' : 'optional');
    if (signatures === 'optional') logger.warn({ nats: config.natsUrl }, 'unsigned events are accepted (EVENT_SIGNATURES=optional); never on a shared network');
    const producible = new Set(eventFlows().map((f) => `${f.senderType} ${f.event}`));
    const signer = new EventSigner(identity);
    const verifier = new EventVerifier({
      ca: identity.ca,
      isRevoked: revocations.isRevoked,
      mayProduce: (agencyType, eventType) => producible.has(`${agencyType} ${eventType}`),
      unsigned: signatures === 'required' ? 'refuse' : 'accept',
    });

    // tls://… is a broker that knows deployments by their certificates (brokerConfig).
    const nats = await connectNats({ servers: config.natsUrl, name: config.agencyId, ...(wantsTls(config.natsUrl) ? { tls: identity } : {}) });
    stops.push(() => nats.close());
    await ensureAgencyStream(nats.jsm, config.agencyId, config.streamReplicas ?? 1);

    const relay = new OutboxRelay({ db: database.db as Kysely<any>, js: nats.js, logger, producerAgencyId: config.agencyId, database: watch, signer, streamReplicas: config.streamReplicas, ...(overrides.relayPollIntervalMs && { pollIntervalMs: overrides.relayPollIntervalMs }) });
    relay.start();
    stops.push(() => relay.stop());

    const ctx: AgencyContext<DB> = {
      agencyId: config.agencyId,
      agencyType: config.agencyType,
      logger,
      db: database.db,
      identity,
      now: overrides.now ?? (() => new Date()),
      transact: async (fn) => {
        const writes = outboxWriteCount();
        const result = await database.db.transaction().execute(fn);
        if (outboxWriteCount() !== writes) relay.notify();
        return result;
      },
      publish: (trx, codec, message, caseRef, audience) => enqueue(trx as Kysely<any>, config.agencyId, codec, eventTypeOf(codec), message, caseRef, audience),
    };

    const consumers: ConsumerHandle[] = [];
    for (const subscription of spec.subscriptions(ctx)) {
      // Events whose handler wrote to the outbox, until their transaction commits: only those
      // wake the relay. One set per subscription, as two of them may take the same event. The id
      // of a rolled-back one stays until its redelivery commits; should parked ones ever pile
      // up, the set starts afresh (a missed wake-up waits for the relay's next poll).
      const eventsThatWrote = new Set<string>();
      const consumer = await startConsumer({
        db: database.db as Kysely<any>,
        js: nats.js,
        jsm: nats.jsm,
        nc: nats.nc,
        logger,
        durableName: config.agencyId,
        ...(subscription.module && { dedupKey: `${config.agencyId}:${subscription.module}` }),
        producerAgencyId: subscription.producerAgencyId,
        filterSubjects: [subscription.filterSubject],
        handle: async (trx, event) => {
          const writes = outboxWriteCount();
          await subscription.handle(trx as Transaction<DB>, event);
          if (outboxWriteCount() === writes) return;
          if (eventsThatWrote.size >= 1_000) eventsThatWrote.clear();
          eventsThatWrote.add(event.envelope.eventId);
        },
        afterCommit: (event) => {
          if (eventsThatWrote.delete(event.envelope.eventId)) relay.notify();
        },
        database: watch,
        verifier,
        ...overrides.consumer,
      });
      consumers.push(consumer);
    }
    stops.push(async () => {
      await Promise.all(consumers.map((c) => c.stop()));
    });

    const unregisterGauges = registerMessagingGauges({
      db: database.db as Kysely<any>,
      agencyId: config.agencyId,
      jsm: nats.jsm,
      consumers,
      onError: (error) => logger.debug({ err: error }, 'reading a metric failed'),
    });
    stops.push(async () => unregisterGauges());

    // Every call is checked against the network's authorisation matrix before its handler runs.
    const self = { agencyId: config.agencyId, agencyType: config.agencyType };
    const matrix = accessMatrix();
    const server = new GrpcServer({
      identity,
      logger,
      authorize: (method, caller) =>
        revocations.isRevoked({ deploymentId: caller.agencyId }) ? `the certificate of ${caller.agencyId} is revoked` : accessRefusal(method, caller, self, matrix),
      ...(config.oidc && { authenticate: personAuthentication(config.oidc, self, matrix) }),
    });
    for (const service of spec.services(ctx)) server.add(service.definition, service.protoFile, service.handlers);
    server.add(
      operator.OperatorServiceService,
      OPERATOR_PROTO_FILE,
      operatorApi({ agencyId: config.agencyId, db: database.db as Kysely<any>, consumers: () => consumers, logger, outboxChanged: () => relay.notify(), relay, awaiting: spec.awaiting?.(ctx) }),
    );
    // Which of a caller's events this deployment took in: producers' receipt follow-ups ask it.
    server.add(receipts.ReceiptServiceService, RECEIPTS_PROTO_FILE, receiptApi(ctx));
    const grpcPort = await server.listen(config.grpc.host, config.grpc.port);
    stops.push(() => server.stop());
    reportServing = (serving) => server.setServing(serving);
    watch.start();
    // Stopped first (stops run in reverse): a last ping must not report SERVING on a closing server.
    stops.push(() => watch.stop());

    logger.info(
      { grpc: `${config.grpc.host}:${grpcPort}`, database: database.kind, nats: config.natsUrl, agency_type: config.agencyType },
      'ready',
    );
    return { ctx, grpcPort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
