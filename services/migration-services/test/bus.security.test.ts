// Security tier, the bus: the attacks of issue 11 against a real nats-server that runs with the
// configuration the network generates (users from certificates, permissions from the flow table),
// while a real foreign office and a real provider consume from it with their own databases. Each
// attack must be refused by the broker — the attempt in its log — and no database may change.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common, envelope, events } from '@lotse/contracts';
import { sql, type Kysely, type TestDatabase } from '@lotse/db';
import { createLogger } from '@lotse/logger';
import { durableNameFor, ensureAgencyStream, envelopeSchemaVersion, eventSubject, streamName, type NatsClients } from '@lotse/messaging';
import { connect } from '@nats-io/transport-node';
import { AckPolicy } from '@nats-io/jetstream';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create as createForeignOffice } from '@lotse/foreign-office';
import { eventFlows } from '@lotse/flows';
import { createTestDatabase, dropWhenIdle, randomId, sleep, startTestBroker, waitFor, type TestBroker } from '@lotse/testing';
import { create } from '../src/index.js';

const hubId = randomId('hub');
const foId = randomId('fo');
const providerId = randomId('mbe');
// A certified provider of the network, hostile: it holds a real certificate and a NATS user.
const rogueId = randomId('rogue');
const logLevel = process.env.LOG_LEVEL ?? 'silent';

let broker: TestBroker;
let dir: string;
let databases: TestDatabase[] = [];
let fo: ReturnType<typeof createForeignOffice>;
let provider: ReturnType<typeof create>;
const dbs: Kysely<any>[] = [];
let hub: NatsClients;
let rogue: NatsClients;

beforeAll(async () => {
  broker = await startTestBroker({
    network: {
      deployments: [
        { id: foId, agencyType: 'foreign-office' },
        { id: hubId, agencyType: 'lotsenhaus' },
        { id: providerId, agencyType: 'migration-services' },
        { id: rogueId, agencyType: 'migration-services' },
      ],
      hubId,
      eventFlows: eventFlows(),
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'lotse-bus-security-'));
  // The hub's stream, made by the hub: the provider and the foreign office follow it.
  hub = await broker.connectAs(hubId);
  await ensureAgencyStream(hub.jsm, hubId);
  databases = await Promise.all([createTestDatabase('lotse_fo_bus'), createTestDatabase('lotse_mbe_bus')]);
  const base = { grpc: { host: '127.0.0.1', port: 0 }, natsUrl: broker.url, pkiDir: broker.pkiDir!, logLevel: 'silent' as const };
  fo = createForeignOffice(
    { ...base, agencyId: foId, agencyType: 'foreign-office', database: { url: databases[0]!.url, dataDir: 'unused' }, hubAgencyId: hubId },
    { logger: createLogger(foId, { level: logLevel }) },
  );
  const foRunning = await fo.start();
  provider = create(
    {
      ...base,
      agencyId: providerId,
      agencyType: 'migration-services',
      database: { url: databases[1]!.url, dataDir: 'unused' },
      hubAgencyId: hubId,
      peers: new Map([[foId, `127.0.0.1:${foRunning.grpcPort}`]]),
    },
    { logger: createLogger(providerId, { level: logLevel }) },
  );
  const providerRunning = await provider.start();
  dbs.push(foRunning.ctx.db as Kysely<any>, providerRunning.ctx.db as Kysely<any>);
  // Both consumers are up under their generated permissions before anyone attacks.
  await waitFor(async () => (await hub.jsm.consumers.list(streamName(hubId)).next()).length >= 2, 'the consumers on the hub stream', 20_000);
  rogue = await broker.connectAs(rogueId);
}, 60_000);

afterAll(async () => {
  await rogue?.close();
  await hub?.close();
  await provider?.stop();
  await fo?.stop();
  for (const database of databases) await dropWhenIdle(database);
  await broker?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every row of every table of a database, hashed per table: equal before and after = unchanged. */
async function fingerprint(db: Kysely<any>): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`.execute(db);
  const out: Record<string, string> = {};
  for (const { name } of tables.rows) {
    const r = await sql<{ n: number; h: string | null }>`select count(*)::int as n, md5(string_agg(t::text, '|' order by t::text)) as h from ${sql.table(name)} t`.execute(db);
    out[name] = `${r.rows[0]!.n}:${r.rows[0]!.h ?? ''}`;
  }
  return out;
}

async function allDatabases(): Promise<Record<string, string>[]> {
  return Promise.all(dbs.map(fingerprint));
}

async function streamMessages(id: string): Promise<number> {
  // Read by the stream's owner, who may.
  const owner = id === hubId ? hub : await broker.connectAs(id);
  try {
    return (await owner.jsm.streams.info(streamName(id))).state.messages;
  } finally {
    if (owner !== hub) await owner.close();
  }
}

function envelopeBytes(producer: string, eventType: string, caseRef: string, payload: Uint8Array): Uint8Array {
  return envelope.Envelope.encode({ eventId: uuidv7(), eventType, occurredAt: new Date(), producerAgencyId: producer, caseRef, schemaVersion: envelopeSchemaVersion, payload: Buffer.from(payload) }).finish();
}

/** The broker logged a permissions violation for this subject. */
function violationLogged(subject: string): boolean {
  return readFileSync(broker.logFile, 'utf8').includes(`Subject "${subject}"`);
}

/**
 * Runs an attack and checks that nothing changed: the databases, and the message counts of the
 * streams named. Waits long enough for a consumer to have applied anything that got through.
 */
async function expectNothingChanged(attack: () => Promise<void>, streams: string[] = [hubId, foId]): Promise<void> {
  const before = await allDatabases();
  const counts = await Promise.all(streams.map(streamMessages));
  await attack();
  await sleep(2_000);
  expect(await Promise.all(streams.map(streamMessages))).toEqual(counts);
  expect(await allDatabases()).toEqual(before);
}

describe('the bus refuses', () => {
  it('an anonymous client: no connection without a certificate of the network, so nothing to read', async () => {
    await expectNothingChanged(async () => {
      const ca = String(broker.identity(hubId).ca);
      // Without a client certificate, over TLS and in plain text.
      await expect(connect({ servers: broker.url, tls: { ca }, timeout: 3000, reconnect: false })).rejects.toThrow();
      await expect(connect({ servers: broker.url.replace('tls://', 'nats://'), timeout: 3000, reconnect: false })).rejects.toThrow();
    });
  });

  it('a certified deployment reading another’s stream: no message get, no durable of its own choosing', async () => {
    // Something in the hub's stream to read, addressed to no running consumer.
    await hub.js.publish(eventSubject(hubId, 'ReferralRouted', 'nobody'), envelopeBytes(hubId, 'ReferralRouted', 'C-READ', new Uint8Array()), { msgID: uuidv7() });
    await expectNothingChanged(async () => {
      await expect(rogue.jsm.streams.getMessage(streamName(hubId), { seq: 1 })).rejects.toThrow();
      await expect(rogue.jsm.streams.list().next()).rejects.toThrow();
      // A durable that would read what the hub addresses to the real provider.
      const filter = eventSubject(hubId, 'ReferralRouted', providerId);
      await expect(rogue.jsm.consumers.add(streamName(hubId), { durable_name: durableNameFor(rogueId, filter), filter_subject: filter, ack_policy: AckPolicy.Explicit })).rejects.toThrow();
    });
    expect(violationLogged(`$JS.API.STREAM.MSG.GET.${streamName(hubId)}`)).toBe(true);
  });

  it('deleting or purging a stream that is not one’s own', async () => {
    await expectNothingChanged(async () => {
      await expect(rogue.jsm.streams.delete(streamName(hubId))).rejects.toThrow();
      await expect(rogue.jsm.streams.purge(streamName(foId))).rejects.toThrow();
    });
    expect(violationLogged(`$JS.API.STREAM.DELETE.${streamName(hubId)}`)).toBe(true);
  });

  it('a ReferralRouted forged by a provider on the hub’s subject: not stored, not in any inbox', async () => {
    const caseRef = `C-${uuidv7()}`;
    const subject = eventSubject(hubId, 'ReferralRouted', providerId);
    await expectNothingChanged(async () => {
      const forged = events.ReferralRouted.fromPartial({
        referralId: uuidv7(),
        caseRef,
        referrerAgencyId: foId,
        providerId,
        purpose: common.Purpose.PURPOSE_MIGRATION_COUNSELLING,
        consentId: uuidv7(),
        ageGroup: common.AgeGroup.AGE_GROUP_ADULT,
        routingReason: 'agreement',
        routedAt: new Date(),
        ownerAgencyId: foId,
      });
      await expect(rogue.js.publish(subject, envelopeBytes(hubId, 'ReferralRouted', caseRef, events.ReferralRouted.encode(forged).finish()), { msgID: uuidv7() })).rejects.toThrow();
    });
    expect(violationLogged(subject)).toBe(true);
  });

  it('an ErasureRequested forged by a provider on the hub’s subject: nothing erased or recorded', async () => {
    const caseRef = `C-${uuidv7()}`;
    const subject = eventSubject(hubId, 'ErasureRequested', providerId);
    await expectNothingChanged(async () => {
      const forged = events.ErasureRequested.fromPartial({ consentId: uuidv7(), caseRef, recipient: providerId, ownerAgencyId: foId, withdrawnAt: new Date(), requestedAt: new Date() });
      await expect(rogue.js.publish(subject, envelopeBytes(hubId, 'ErasureRequested', caseRef, events.ErasureRequested.encode(forged).finish()), { msgID: uuidv7() })).rejects.toThrow();
    });
    expect(violationLogged(subject)).toBe(true);
  });

  it('a certified deployment publishing on another deployment’s subjects', async () => {
    const caseRef = `C-${uuidv7()}`;
    const subject = eventSubject(foId, 'ConsentWithdrawn');
    await expectNothingChanged(async () => {
      const payload = events.ConsentWithdrawn.encode(events.ConsentWithdrawn.fromPartial({ consentId: uuidv7(), caseRef, withdrawnAt: new Date() })).finish();
      await expect(rogue.js.publish(subject, envelopeBytes(foId, 'ConsentWithdrawn', caseRef, payload), { msgID: uuidv7() })).rejects.toThrow();
      // The real provider, too, speaks only for itself.
      const asProvider = await broker.connectAs(providerId);
      try {
        await expect(asProvider.js.publish(eventSubject(hubId, 'ReferralWithdrawn', providerId), envelopeBytes(hubId, 'ReferralWithdrawn', caseRef, new Uint8Array()), { msgID: uuidv7() })).rejects.toThrow();
      } finally {
        await asProvider.close();
      }
    });
    expect(violationLogged(subject)).toBe(true);
  });
});
