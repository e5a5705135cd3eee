import { randomBytes } from 'node:crypto';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { common, envelope, events, eventTypeOf } from '@lotse/contracts';
import { createTestDatabase, type Kysely, type TestDatabase } from '@lotse/db';
import { isServiceError } from '@lotse/grpc';
import { ensureAgencyStream, envelopeSchemaVersion, eventSubject, streamName, type NatsClients } from '@lotse/messaging';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { v7 as uuidv7 } from 'uuid';

export { natsHeaders };
export { startTestBroker, type TestBroker, type TestBrokerOptions } from './test-broker.js';
export { startTestPostgres, type TestPostgres } from './test-postgres.js';

export { natsUrl, startTestNetwork, type NetworkMember, type StartableService, type TestAgency, type TestAgencyConfig, type TestNetwork, type TestNetworkOptions } from './network.js';

export function randomId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `what` may be a function, to name in the timeout's message what the check saw last. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string | (() => string), timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(50);
  }
}

/**
 * Call options that name a member of staff the way a deployment without sign-in learns it: the
 * x-lotse-caseworker header (the audit log records it as the caseworker).
 */
export function caseworker(id: string): { metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set('x-lotse-caseworker', id);
  return { metadata };
}

/** The promise of a gRPC call that must fail; returns the ServiceError. */
export async function grpcError(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (error) {
    if (isServiceError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** Publishes an event into a producer's stream the way its outbox relay would. */
export async function publishEvent<T>(
  nats: NatsClients,
  options: {
    producer: string;
    /** The codec's event type unless given: a test may publish a type no generated codec has. */
    eventType?: string;
    codec: { encode(message: T): { finish(): Uint8Array } };
    message: T;
    caseRef: string;
    audience?: string;
    eventId?: string;
    /** Defaults to the event id; a different one gets past the broker's duplicate window. */
    msgId?: string;
    traceparent?: string;
  },
): Promise<string> {
  const eventId = options.eventId ?? uuidv7();
  const eventType = options.eventType ?? eventTypeOf(options.codec);
  const bytes = envelope.Envelope.encode({
    eventId,
    eventType,
    occurredAt: new Date(),
    producerAgencyId: options.producer,
    caseRef: options.caseRef,
    schemaVersion: envelopeSchemaVersion,
    payload: Buffer.from(options.codec.encode(options.message).finish()),
  }).finish();
  const headers = natsHeaders();
  if (options.traceparent) headers.set('traceparent', options.traceparent);
  // As the producer would, which makes its own stream (consumers no longer do).
  await ensureAgencyStream(nats.jsm, options.producer);
  await nats.js.publish(eventSubject(options.producer, eventType, options.audience), bytes, { msgID: options.msgId ?? eventId, headers });
  return eventId;
}

/**
 * The hub tells a data owner that a referral of the case is with `providerId` (accepted unless
 * said otherwise), as it does after the provider's answer. Owners disclose only on such a record.
 * Returns the referral id; the owner's consumer applies it shortly after.
 */
export async function announceReferralWith(
  nats: NatsClients,
  options: { hubId: string; ownerId: string; caseRef: string; providerId: string; referralId?: string; status?: common.ReferralStatus; purpose?: common.Purpose },
  /** The owner's database: resolves only once the owner has recorded it. */
  ownerDb?: Kysely<any>,
): Promise<string> {
  const referralId = options.referralId ?? uuidv7();
  await publishEvent(nats, {
    producer: options.hubId,
    codec: events.ReferralStatusChanged,
    message: events.ReferralStatusChanged.fromPartial({
      referralId,
      caseRef: options.caseRef,
      status: options.status ?? common.ReferralStatus.REFERRAL_STATUS_ACCEPTED,
      providerId: options.providerId,
      purpose: options.purpose ?? common.Purpose.PURPOSE_MIGRATION_COUNSELLING,
      referrerAgencyId: options.ownerId,
      changedAt: new Date(),
    }),
    caseRef: options.caseRef,
    audience: options.ownerId,
  });
  if (ownerDb) {
    const status = options.status ?? common.ReferralStatus.REFERRAL_STATUS_ACCEPTED;
    await waitFor(
      async () => (await ownerDb.selectFrom('referral_recipient').select('status').where('referral_id', '=', referralId).where('status', '=', status).executeTakeFirst()) !== undefined,
      `the owner ${options.ownerId} to record referral ${referralId} with ${options.providerId}`,
    );
  }
  return referralId;
}

export interface StoredEvent {
  seq: number;
  subject: string;
  envelope: envelope.Envelope;
  traceparent: string | undefined;
}

/** Every message of an agency's stream, decoded (the streams of a suite are small). */
export async function streamEvents(nats: NatsClients, agencyId: string): Promise<StoredEvent[]> {
  const name = streamName(agencyId);
  const info = await nats.jsm.streams.info(name);
  const out: StoredEvent[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await nats.jsm.streams.getMessage(name, { seq }).catch(() => null);
    if (!m) continue;
    let decoded: envelope.Envelope;
    try {
      decoded = envelope.Envelope.decode(m.data);
    } catch {
      continue;
    }
    out.push({ seq, subject: m.subject, envelope: decoded, traceparent: m.header?.get('traceparent') || undefined });
  }
  return out;
}

/** Waits until a durable has seen and acknowledged everything in its stream. */
export async function waitConsumed(nats: NatsClients, producerAgencyId: string, durable: string, timeoutMs = 10_000): Promise<void> {
  const name = streamName(producerAgencyId);
  await waitFor(
    async () => {
      const consumer = await nats.jsm.consumers.info(name, durable);
      // Pending counts only what the consumer's filter matches. A filtered consumer's ack floor
      // stops at the last message it matched, so comparing it with the stream's last sequence
      // waited forever once the stream held a later message on another subject.
      return consumer.num_pending === 0 && consumer.num_ack_pending === 0 && consumer.ack_floor.stream_seq >= consumer.delivered.stream_seq;
    },
    `${durable} to consume ${name}`,
    timeoutMs,
  );
}

/** Drops a suite's database (kept for the tests' wording; the wait is in TestDatabase.drop). */
export async function dropWhenIdle(database: TestDatabase): Promise<void> {
  await database.drop();
}

export { createTestDatabase };
export { rawClient, type RawOutcome } from './raw-client.js';
export { fuzzServer, isServing, reflectServices, type FuzzOptions, type FuzzReport } from './rpc-fuzz.js';
export { probeKeepAlive, type KeepAliveProbe } from './keep-alive-probe.js';
