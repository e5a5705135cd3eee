import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { envelope, events, eventTypeOf, operator } from '@lotse/contracts';
import { sql, type Kysely, type Migrations } from '@lotse/db';
import { eventFlows } from '@lotse/flows';
import { createClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { connectNats, ensureAgencyStream, EventSigner, type NatsClients } from '@lotse/messaging';
import { installCertificate, loadIdentity, requestCertificate, revoke, signCertificateRequest, type TlsIdentity } from '@lotse/pki';
import { grpcError, natsHeaders, randomId, startTestBroker, waitFor, type TestBroker } from '@lotse/testing';
import { connect } from '@nats-io/transport-node';
import type { Generated } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { on, startAgency, subjectOf, subscribe, type RunningAgency } from '../src/index.js';

interface TestDb {
  effect: { id: Generated<number>; event_id: string };
}
const effectMigrations: Migrations = {
  test_0001_effect: {
    up: async (db: Kysely<any>) => {
      await db.schema.createTable('effect').addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity()).addColumn('event_id', 'text', (c) => c.notNull()).execute();
    },
  },
};

/**
 * Issue 11 item 4 against real servers: a nats-server of the test's own with the generated
 * configuration, and a real deployment (the hub, with its gRPC server and a consumer of the new
 * deployment's stream). A new deployment enrols with a key made in its own folder, rotates its
 * certificate while events keep applying, and is revoked: its connection is closed, it cannot
 * connect again, its signatures and gRPC calls are refused.
 */
describe('enrol, rotate, revoke', () => {
  const hubId = randomId('hub');
  const newcomer = randomId('newcomer');
  const rogue = randomId('rogue');
  const operatorId = randomId('console');
  const folder = mkdtempSync(join(tmpdir(), 'lotse-enrol-'));
  let broker: TestBroker;
  let hub: RunningAgency<TestDb>;
  let enrolled: TlsIdentity;
  let asNewcomer: NatsClients;
  const connections: NatsClients[] = [];

  beforeAll(async () => {
    broker = await startTestBroker({
      network: {
        deployments: [
          { id: hubId, agencyType: 'lotsenhaus' },
          { id: newcomer, agencyType: 'migration-services' },
          { id: rogue, agencyType: 'migration-services' },
        ],
        hubId,
        eventFlows: eventFlows(),
        observers: [{ id: operatorId, agencyType: 'operator' }],
      },
    });
    hub = await startAgency<TestDb>(
      {
        agencyId: hubId,
        agencyType: 'lotsenhaus',
        grpc: { host: '127.0.0.1', port: 0 },
        database: { dataDir: 'memory://' },
        natsUrl: broker.url,
        pkiDir: broker.pkiDir!,
        logLevel: 'silent',
      },
      {
        migrations: effectMigrations,
        services: () => [],
        subscriptions: () => [
          subscribe<TestDb>(newcomer, `lotse.${newcomer}.>`, [
            on(events.ReferralReceived, async (trx, _message, env) => {
              await trx.insertInto('effect').values({ event_id: env.eventId }).execute();
            }),
          ]),
        ],
      },
      { logger: createLogger(hubId, { level: 'silent' }) },
    );
  });
  afterAll(async () => {
    // close, not drain: a revoked connection is still trying to reconnect and would never drain.
    for (const c of connections) await c.nc.close().catch(() => undefined);
    await hub?.stop();
    await broker?.cleanup();
    rmSync(folder, { recursive: true, force: true });
  });

  const effects = async (eventId: string) => (await sql<{ n: number }>`select count(*)::int as n from effect where event_id = ${eventId}`.execute(hub.ctx.db)).rows[0]!.n;
  const parkedError = async (eventId: string) =>
    (await sql<{ error: string }>`select error from parked_message where event_id = ${eventId}`.execute(hub.ctx.db)).rows[0]?.error;

  async function publish(nats: NatsClients, signer: EventSigner | undefined, claimed = newcomer): Promise<string> {
    const eventId = uuidv7();
    const subject = subjectOf(newcomer, events.ReferralReceived, hubId);
    const data = envelope.Envelope.encode({
      eventId,
      eventType: eventTypeOf(events.ReferralReceived),
      occurredAt: new Date(),
      producerAgencyId: claimed,
      caseRef: 'C-1',
      schemaVersion: 1,
      payload: Buffer.from(events.ReferralReceived.encode(events.ReferralReceived.fromPartial({ referralId: eventId, caseRef: 'C-1', providerId: newcomer })).finish()),
    }).finish();
    const headers = natsHeaders();
    signer?.sign(subject, data, headers);
    await nats.js.publish(subject, data, { msgID: eventId, headers });
    return eventId;
  }
  const applied = (eventId: string) => waitFor(async () => (await effects(eventId)) === 1, `event ${eventId} to apply`, 15_000);
  const refused = async (eventId: string, reason: RegExp) => {
    const error = await waitFor(() => parkedError(eventId), `event ${eventId} to be parked`, 15_000);
    expect(error).toMatch(/^signature: /);
    expect(error).toMatch(reason);
    expect(await effects(eventId)).toBe(0);
  };
  /**
   * Publishes with `signer` until an event is refused: the deployment looks at the revocation list
   * every 5 s, so events before that still apply; the refusal must come within 30 s.
   */
  const refusedOnceSeen = async (nats: NatsClients, signer: EventSigner, reason: RegExp) => {
    const eventId = await waitFor(
      async () => {
        const id = await publish(nats, signer);
        const outcome = await waitFor(async () => ((await effects(id)) === 1 ? 'applied' : (await parkedError(id)) ? 'parked' : undefined), `event ${id} to be handled`, 15_000);
        return outcome === 'parked' && id;
      },
      'a revoked signature to be refused',
      30_000,
    );
    await refused(eventId, reason);
  };
  const connectWith = async (identity: TlsIdentity) => {
    const c = await connectNatsAs(broker.url, newcomer, identity);
    connections.push(c);
    return c;
  };

  it('enrols a deployment whose key never leaves its folder; its signed events apply, forgeries with valid broker credentials do not', async () => {
    // The deployment's folder knows only the CA's certificate.
    copyFileSync(join(broker.pkiDir!, 'ca.crt'), join(folder, 'ca.crt'));
    const request = await requestCertificate(folder, { id: newcomer, agencyType: 'migration-services' });
    expect(request.keyPath).toBe(join(folder, `${newcomer}.key`));
    expect(request.csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    expect(request.csr).not.toMatch(/PRIVATE KEY/);
    // The CA's step sees the request only.
    const certificate = await signCertificateRequest(broker.pkiDir!, request.csr, { id: newcomer, agencyType: 'migration-services' });
    await installCertificate(folder, newcomer, certificate);
    enrolled = loadIdentity(folder, newcomer);
    expect(enrolled.key.equals(readFileSync(join(broker.pkiDir!, `${newcomer}.key`)))).toBe(false);
    // A request for another name is refused by the CA.
    await expect(signCertificateRequest(broker.pkiDir!, request.csr, { id: rogue, agencyType: 'migration-services' })).rejects.toThrow(/not .*rogue/);

    asNewcomer = await connectWith(enrolled);
    await ensureAgencyStream(asNewcomer.jsm, newcomer);
    const signed = await publish(asNewcomer, new EventSigner(enrolled));
    await applied(signed);

    // Valid broker credentials, own subject, but: unsigned; signed by another deployment; claiming the hub.
    await refused(await publish(asNewcomer, undefined), /unsigned/);
    await refused(await publish(asNewcomer, new EventSigner(broker.identity(rogue))), /who does not own/);
    await refused(await publish(asNewcomer, new EventSigner(enrolled), hubId), /envelope names/);
  });

  it('rotates: old and new certificates both sign during the overlap; the old one revoked, only the new', async () => {
    const oldSigner = new EventSigner(enrolled);
    const request = await requestCertificate(folder, { id: newcomer, agencyType: 'migration-services' }, { rotate: true });
    expect(request.keyPath).toBe(join(folder, `${newcomer}.next.key`));
    const { replaced, fingerprint } = await installCertificate(folder, newcomer, await signCertificateRequest(broker.pkiDir!, request.csr, { id: newcomer, agencyType: 'migration-services' }));
    expect(replaced).toBeDefined();
    expect(replaced).not.toBe(fingerprint);
    const rotated = loadIdentity(folder, newcomer);
    expect(rotated.key.equals(enrolled.key)).toBe(false);
    const newSigner = new EventSigner(rotated);

    // No downtime: the old connection stays, a new one with the new certificate works next to it.
    const fresh = await connectWith(rotated);
    await applied(await publish(asNewcomer, oldSigner));
    await applied(await publish(fresh, newSigner));

    await revoke(broker.pkiDir!, { certificate: replaced! });
    // The deployment looks at the list every 5 s.
    await refusedOnceSeen(fresh, oldSigner, /revoked/);
    await applied(await publish(fresh, newSigner));
    asNewcomer = fresh;
    enrolled = rotated;
  });

  it('revokes a deployment: NATS closes its connection and refuses a new one, its signatures and gRPC calls are refused', async () => {
    const address = `127.0.0.1:${hub.grpcPort}`;
    const operatorClient = createClient(operator.OperatorServiceClient, address, broker.identity(operatorId));
    expect((await operatorClient.listParkedMessages({ includeResolved: false })).messages.length).toBeGreaterThan(0);
    const signer = new EventSigner(enrolled);

    await revoke(broker.pkiDir!, { deployment: newcomer });
    await revoke(broker.pkiDir!, { deployment: operatorId });
    // Before the broker reloads, it may still publish: the hub refuses what it signed.
    await refusedOnceSeen(asNewcomer, signer, new RegExp(`${newcomer} is revoked`));
    const disconnected = (async () => {
      for await (const s of asNewcomer.nc.status()) if (s.type === 'disconnect') return 'disconnected';
      return 'closed';
    })();
    await broker.applyRevocations();
    // The reload removes its user: the server drops the connection (the client then tries to
    // reconnect, and each attempt is refused), and a new connection is refused.
    await expect(Promise.race([disconnected, new Promise((r) => setTimeout(() => r('still connected'), 30_000))])).resolves.toBe('disconnected');
    await expect(
      connect({ servers: broker.url.replace(/^tls:\/\//, ''), tls: { ca: enrolled.ca.toString(), cert: enrolled.cert.toString(), key: enrolled.key.toString() }, reconnect: false, timeout: 5_000 }),
    ).rejects.toThrow(/authorization/i);
    // Another deployment is unaffected.
    const other = await connectNatsAs(broker.url, rogue, broker.identity(rogue));
    connections.push(other);

    // gRPC: refused at the edge within the list's refresh interval.
    const error = await waitFor(
      async () => {
        try {
          await operatorClient.listParkedMessages({ includeResolved: false });
          return undefined;
        } catch (e) {
          return e as Error;
        }
      },
      'the revoked operator to be refused',
      15_000,
    );
    expect((await grpcError(Promise.reject(error))).code).toBe(status.PERMISSION_DENIED);
    expect(error.message).toMatch(/revoked/);
  });
});

function connectNatsAs(url: string, name: string, tls: TlsIdentity): Promise<NatsClients> {
  return connectNats({ servers: url, name, tls });
}
