import { X509Certificate, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { v7 as uuidv7 } from 'uuid';
import {
  enqueueEvent,
  ensureAgencyStream,
  eventSubject,
  EventSigner,
  EventVerifier,
  listParked,
  OutboxRelay,
  republishEvents,
  signedBytes,
  streamName,
  startConsumer,
  type ConsumerHandle,
  type EventHandler,
} from '../src/index.js';
// This package does not depend on @lotse/pki (signing needs only node:crypto); the test borrows its CA.
import { ensureDevPki, loadIdentity } from '../../pki/src/index.js';
import { count, logger, randomAgencyId, setupSuite, waitFor, type Suite } from './support.js';

/**
 * Issue 11 item 3: every event is signed by its producer and checked before a handler runs. The
 * shared broker lets anyone publish anywhere, which is exactly a client with valid broker
 * credentials: what stops a forgery here is the consumer, not the broker.
 */
describe('signed events', () => {
  let suite: Suite;
  let pkiDir: string;
  let otherCaDir: string;
  const producer = randomAgencyId();
  const other = randomAgencyId();
  const consumers: ConsumerHandle[] = [];
  const revoked = new Set<string>();
  let signer: EventSigner;
  let otherSigner: EventSigner;
  let foreignCaSigner: EventSigner;
  let verifier: EventVerifier;

  beforeAll(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), 'lotse-sign-'));
    otherCaDir = await mkdtemp(join(tmpdir(), 'lotse-sign-other-'));
    await ensureDevPki(pkiDir, [
      { id: producer, agencyType: 'lotsenhaus' },
      { id: other, agencyType: 'migration-services' },
    ]);
    // Same name, other CA: what someone who made their own certificate for the producer would hold.
    await ensureDevPki(otherCaDir, [{ id: producer, agencyType: 'lotsenhaus' }]);
    signer = new EventSigner(loadIdentity(pkiDir, producer));
    otherSigner = new EventSigner(loadIdentity(pkiDir, other));
    foreignCaSigner = new EventSigner(loadIdentity(otherCaDir, producer));
    verifier = new EventVerifier({
      ca: loadIdentity(pkiDir, producer).ca,
      isRevoked: ({ deploymentId }) => revoked.has(deploymentId),
      mayProduce: (agencyType, eventType) => agencyType === 'lotsenhaus' && eventType !== 'ErasureConfirmed',
    });
    suite = await setupSuite();
    suite.agencies.push(producer);
    await ensureAgencyStream(suite.nats.jsm, producer);
  });
  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await suite?.cleanup();
    if (pkiDir) await rm(pkiDir, { recursive: true, force: true });
    if (otherCaDir) await rm(otherCaDir, { recursive: true, force: true });
  });

  const effect: EventHandler = async (trx, event) => {
    await trx.insertInto('effect').values({ event_id: event.envelope.eventId }).execute();
  };
  const effects = (eventId: string) => count(suite.db, 'effect', sql`event_id = ${eventId}`);

  async function consume(name: string, eventType: string): Promise<ConsumerHandle> {
    const consumer = await startConsumer({
      db: suite.db,
      js: suite.nats.js,
      jsm: suite.nats.jsm,
      logger,
      durableName: name,
      producerAgencyId: producer,
      filterSubjects: [eventSubject(producer, eventType)],
      maxDeliver: 3,
      retryDelaysMs: [50],
      handle: effect,
      verifier,
    });
    consumers.push(consumer);
    return consumer;
  }

  function envelopeBytes(eventType: string, claimedProducer = producer, eventId = uuidv7()): { eventId: string; bytes: Uint8Array } {
    const bytes = envelope.Envelope.encode({
      eventId,
      eventType,
      occurredAt: new Date(),
      producerAgencyId: claimedProducer,
      caseRef: 'C-1',
      schemaVersion: 1,
      payload: Buffer.from('payload'),
    }).finish();
    return { eventId, bytes };
  }

  /** Publishes raw, signed by `by` (over `signedData` if given, to model a tampered message). */
  async function publishRaw(eventType: string, bytes: Uint8Array, eventId: string, by?: EventSigner, signedData?: Uint8Array): Promise<void> {
    const subject = eventSubject(producer, eventType);
    const hdrs = natsHeaders();
    by?.sign(subject, signedData ?? bytes, hdrs);
    await suite.nats.js.publish(subject, bytes, { msgID: eventId, headers: hdrs });
  }

  async function expectParked(consumer: string, eventId: string, reason: RegExp): Promise<void> {
    await waitFor(async () => (await listParked(suite.db, consumer)).some((p) => p.eventId === eventId || p.eventId === null), 10_000, `${consumer} to park ${eventId}`);
    const parked = (await listParked(suite.db, consumer)).find((p) => p.eventId === eventId || p.eventId === null)!;
    expect(parked.error).toMatch(/^signature: /);
    expect(parked.error).toMatch(reason);
    // Refused at once, not retried: a signature does not get better with another delivery.
    expect(parked.deliveries).toBe(1);
    expect(await effects(eventId)).toBe(0);
    expect(await count(suite.db, 'applied_event', sql`event_id = ${eventId}`)).toBe(0);
  }

  it('applies what the relay signed, keeps the signature in applied_event, and a resend under <id>~1 still verifies', async () => {
    const relay = new OutboxRelay({ db: suite.db, js: suite.nats.js, logger, producerAgencyId: producer, signer });
    const eventId = await suite.db.transaction().execute((trx) => enqueueEvent(trx, { producerAgencyId: producer, eventType: 'Signed', caseRef: 'C-1', payload: Buffer.from('x') }));
    await relay.flush();
    const first = await consume('first', 'Signed');
    await waitFor(async () => (await effects(eventId)) === 1, 10_000, 'the signed event to apply');
    // What the recipient keeps to prove later who told it what: the bytes, the signature, the certificate.
    const stored = await sql<{ signature: string | null; signer_certificate: string | null; envelope: Buffer | null }>`select signature, signer_certificate, envelope from applied_event where event_id = ${eventId}`.execute(suite.db);
    const kept = stored.rows[0]!;
    const certificate = new X509Certificate(Buffer.from(kept.signer_certificate ?? '', 'base64'));
    expect(certificate.subject).toContain(`CN=${producer}`);
    expect(verify('sha256', signedBytes(eventSubject(producer, 'Signed'), kept.envelope!), certificate.publicKey, Buffer.from(kept.signature!, 'base64'))).toBe(true);

    // Sent again under a new Nats-Msg-Id: a new reader sees both copies, both verify, one applies.
    expect(await republishEvents(suite.db, [eventId])).toBe(1);
    await relay.flush();
    const info = await suite.nats.jsm.streams.getMessage(streamName(producer), { last_by_subj: eventSubject(producer, 'Signed') });
    expect(info?.header.get('Nats-Msg-Id')).toBe(`${eventId}~1`);
    const second = await consume('second', 'Signed');
    await waitFor(async () => (await count(suite.db, 'applied_event', sql`event_id = ${eventId} and consumer = 'second'`)) === 1, 10_000, 'the resend to be consumed');
    expect(await effects(eventId)).toBe(2); // one per consumer
    expect(await listParked(suite.db, 'first')).toEqual([]);
    expect(await listParked(suite.db, 'second')).toEqual([]);
    expect([first.consumer, second.consumer]).toEqual(['first', 'second']);
  });

  it('parks an unsigned event', async () => {
    await consume('unsigned', 'Unsigned');
    const { eventId, bytes } = envelopeBytes('Unsigned');
    await publishRaw('Unsigned', bytes, eventId);
    await expectParked('unsigned', eventId, /unsigned/);
  });

  it('parks an event on the producer’s subject signed by another deployment of the network', async () => {
    await consume('forged', 'Forged');
    const { eventId, bytes } = envelopeBytes('Forged');
    await publishRaw('Forged', bytes, eventId, otherSigner);
    await expectParked('forged', eventId, new RegExp(`signed by ${other}, who does not own`));
  });

  it('parks an event signed with a certificate for the producer from another CA', async () => {
    await consume('foreignca', 'ForeignCa');
    const { eventId, bytes } = envelopeBytes('ForeignCa');
    await publishRaw('ForeignCa', bytes, eventId, foreignCaSigner);
    await expectParked('foreignca', eventId, /not issued by the network CA/);
  });

  it('parks a tampered event (signed bytes differ from what arrived)', async () => {
    await consume('tampered', 'Tampered');
    const { eventId, bytes } = envelopeBytes('Tampered');
    const altered = Buffer.from(bytes);
    altered.writeUInt8(altered.readUInt8(altered.length - 1) ^ 0x01, altered.length - 1);
    await publishRaw('Tampered', altered, eventId, signer, bytes);
    await expectParked('tampered', eventId, /does not match the bytes/);
  });

  it('parks a signed event whose envelope names another producer', async () => {
    await consume('claims', 'Claims');
    const { eventId, bytes } = envelopeBytes('Claims', other);
    await publishRaw('Claims', bytes, eventId, signer);
    await expectParked('claims', eventId, /envelope names/);
  });

  it('parks an event type the flow table does not let the signer produce', async () => {
    await consume('notflow', 'ErasureConfirmed');
    const { eventId, bytes } = envelopeBytes('ErasureConfirmed');
    await publishRaw('ErasureConfirmed', bytes, eventId, signer);
    await expectParked('notflow', eventId, /flow table/);
  });

  it('parks an event by a revoked deployment, and a replay of the parked message is refused too', async () => {
    const consumer = await consume('revoked', 'Revoked');
    const { eventId, bytes } = envelopeBytes('Revoked');
    revoked.add(producer);
    try {
      await publishRaw('Revoked', bytes, eventId, signer);
      await expectParked('revoked', eventId, /revoked/);
      const [parked] = await listParked(suite.db, 'revoked');
      await expect(consumer.replayParked(parked!.id)).rejects.toThrow(/signature: .*revoked/);
      expect(await effects(eventId)).toBe(0);
    } finally {
      revoked.delete(producer);
    }
  });
});
