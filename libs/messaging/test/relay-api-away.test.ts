// The relay publishes while the broker's JetStream API does not answer it, as long as the stream
// takes publishes: in a 2 | 1 partition, or while a cluster elects its meta leader, the API
// requests of the relay's stream check fail or time out for minutes, yet the stream's own quorum
// stores every publish (infra/network/test/netns-federation.e2e.test.ts). The relay used to
// make every batch wait for a successful check, so its outbox stood still for as long as the API
// was away. Here a broker of the test's own takes the API away from the relay's user by a
// permissions reload and leaves it the publish.
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { enqueueEvent, OutboxRelay, startNatsServer, streamName, type NatsServerProcess } from '../src/index.js';
import { logger, randomAgencyId, setupSuite, waitFor, type Suite } from './support.js';

const agency = randomAgencyId();
const stream = streamName(agency);
let dir: string;
let configFile: string;
let broker: NatsServerProcess;
let suite: Suite;
let relay: OutboxRelay | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The relay's user (anonymous connections): its subjects always; the stream's API only while `api`. */
function writeConfig(api: boolean): void {
  const publish = [`lotse.${agency}.>`, '$JS.API.INFO', ...(api ? [`$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.INFO.${stream}`, `$JS.API.CONSUMER.LIST.${stream}`] : [])];
  writeFileSync(
    configFile,
    [
      'authorization {',
      '  users: [',
      `    { user: relay, password: relay, permissions: { publish: { allow: ${JSON.stringify(publish)} }, subscribe: { allow: [">"] } } }`,
      '    { user: observer, password: observer }',
      '  ]',
      '}',
      'no_auth_user: relay',
      '',
    ].join('\n'),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-relay-api-'));
  configFile = join(dir, 'nats.conf');
  writeConfig(true);
  broker = await startNatsServer({ port: await freePort(), storeDir: join(dir, 'js'), logFile: join(dir, 'nats.log'), configFile });
  // No TLS in this configuration, whatever the scheme startNatsServer assumes for one.
  suite = await setupSuite({ servers: broker.url.replace(/^tls:/, 'nats:') });
});

afterAll(async () => {
  await relay?.stop();
  await suite?.cleanup();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function write(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await suite.db.transaction().execute((trx) => enqueueEvent(trx, { producerAgencyId: agency, eventType: 'ReferralRequested', caseRef: `c-${i}`, payload: new Uint8Array([i]) }));
  }
}

describe('the outbox relay while the JetStream API is away', () => {
  it('publishes on into a stream it knows, although every look at the stream fails', async () => {
    // A look every 200 ms: each batch comes after a due look.
    relay = new OutboxRelay({ db: suite.db, js: suite.nats.js, logger, producerAgencyId: agency, pollIntervalMs: 100, streamCheckIntervalMs: 200, maxBackoffMs: 500 });
    relay.start();
    await write(5);
    await waitFor(async () => (await relay!.backlog()) === 0, 15_000, 'the first 5 published');

    writeConfig(false);
    broker.reload();
    await waitFor(
      () => suite.nats.jsm.streams.info(stream).then(() => false, () => true),
      10_000,
      'the stream API refused to the relay’s user',
    );

    await write(5);
    await waitFor(async () => (await relay!.backlog()) === 0, 20_000, 'the next 5 published while the API is away');
    // Counted by a user the broker still answers: all ten in the stream, once each.
    const observer = await connect({ servers: broker.url.replace(/^tls:/, 'nats:'), user: 'observer', pass: 'observer' });
    try {
      expect((await (await jetstreamManager(observer)).streams.info(stream)).state.messages).toBe(10);
    } finally {
      await observer.close();
    }
  }, 60_000);
});
