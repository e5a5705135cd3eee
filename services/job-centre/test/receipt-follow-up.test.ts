// Integration tier: the job centre's composition root starts the receipt follow-up towards the
// hub (HUB_ADDRESS), on the real PostgreSQL and NATS. The hub is played by a deployment of its own
// (startAgency, agency type lotsenhaus) that applies the job centre's events and serves the
// receipt API every deployment serves. The job centre's receipt of a routing is relayed and its
// stream purged before any hub consumed it; the hub is not up yet, then comes up on the address
// the job centre was given: the follow-up sends the receipt again, the hub applies it once.
import { createServer } from 'node:net';
import { common, events, operator } from '@lotse/contracts';
import { createLogger } from '@lotse/logger';
import { agencySubjects, streamName, type MessagingTables } from '@lotse/messaging';
import { on, startAgency, subscribe, type AgencyConfig, type RunningAgency } from '@lotse/runtime';
import { publishEvent, randomId, sleep, startTestNetwork, streamEvents, waitFor, type TestNetwork } from '@lotse/testing';
import type { Kysely } from '@lotse/db';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, type JobCentreDb } from '../src/index.js';

const hubId = randomId('hub');
const jobCentreId = randomId('jobcenter');
const consoleId = randomId('console');
const afterMs = 300;
const logLevel = process.env.LOG_LEVEL ?? 'silent';

let net: TestNetwork;
let jobCentre: ReturnType<typeof create>;
let jcRunning: RunningAgency<JobCentreDb>;
let hubPort: number;
let ops: import('@lotse/grpc').PromiseClient<operator.OperatorServiceClient>;
/** Receipts the hub's handler applied, by event id. */
const applied = new Map<string, number>();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'jc-receipts',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: jobCentreId, agencyType: 'job-centre' },
      { id: consoleId, agencyType: 'operator' },
    ],
  });
  hubPort = await freePort();
  const started = await net.agency({
    id: jobCentreId,
    database: 'lotse_jc_receipts',
    create: (config) =>
      create(
        { ...config, logLevel: 'silent', hubAgencyId: hubId, hubAddress: `127.0.0.1:${hubPort}`, peers: new Map(), dataOwnerId: undefined, receiptFollowUp: { intervalMs: 0, afterMs, maxAttempts: 2 } },
        { logger: createLogger(jobCentreId, { level: logLevel }) },
      ),
  });
  jobCentre = started.service;
  jcRunning = started.running;
  ops = started.client(operator.OperatorServiceClient, consoleId);
});

afterAll(() => net?.close());

async function startHub() {
  const database = await net.database('lotse_jc_receipts_hub');
  const config = { ...net.agencyConfig(hubId, database), grpc: { host: '127.0.0.1', port: hubPort } } as AgencyConfig;
  let running: RunningAgency<any> | undefined;
  await net.start({
    async start() {
      running = await startAgency<any>(
        config,
        {
          migrations: {},
          services: () => [],
          subscriptions: () => [
            subscribe(jobCentreId, agencySubjects(jobCentreId), [
              on(events.ReferralReceived, async (_trx, _message, env) => {
                applied.set(env.eventId, (applied.get(env.eventId) ?? 0) + 1);
              }),
            ]),
          ],
        },
        { logger: createLogger(hubId, { level: logLevel }) },
      );
      return running;
    },
    stop: async () => running?.stop(),
  });
}

const receipts = () => jcRunning.ctx.db as unknown as Kysely<MessagingTables>;

describe("the job centre's events the hub never received", () => {
  it('are sent again once the hub can be asked, applied once, then confirmed', async () => {
    const referralId = uuidv7();
    const caseRef = `C-${referralId.slice(-12).toUpperCase()}`;
    await publishEvent(net.nats, {
      producer: hubId,
      audience: jobCentreId,
      codec: events.ReferralRouted,
      message: events.ReferralRouted.fromPartial({
        referralId,
        caseRef,
        referrerAgencyId: randomId('mbe'),
        providerId: jobCentreId,
        purpose: common.Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
        consentId: uuidv7(),
        ageGroup: common.AgeGroup.AGE_GROUP_ADULT,
        routingReason: 'agreement',
        routedAt: new Date(),
      }),
      caseRef,
    });
    const receipt = await waitFor(
      () => receipts().selectFrom('outbox').select(['event_id', 'published_at']).where('event_type', '=', 'ReferralReceived').where('case_ref', '=', caseRef).where('published_at', 'is not', null).executeTakeFirst(),
      'the receipt relayed',
    );
    await waitFor(async () => (await streamEvents(net.nats, jobCentreId)).some((e) => e.envelope.eventId === receipt.event_id), 'the receipt in the stream');
    await net.nats.jsm.streams.purge(streamName(jobCentreId));

    // Nobody listens on the hub's address yet: nothing is counted, the job centre keeps serving.
    await sleep(afterMs + 50);
    expect(await jobCentre.receiptFollowUp!.runOnce()).toBe(0);

    await startHub();
    await sleep(300);
    expect(applied.get(receipt.event_id)).toBeUndefined();
    expect(await jobCentre.receiptFollowUp!.runOnce()).toBe(1);
    await waitFor(() => applied.get(receipt.event_id) === 1, 'the hub to apply the receipt sent again');
    await sleep(afterMs + 50);
    expect(await jobCentre.receiptFollowUp!.runOnce()).toBe(0);
    expect(await receipts().selectFrom('outbox_receipt').select(['sends', 'confirmed_at']).where('event_id', '=', receipt.event_id).executeTakeFirst()).toMatchObject({ sends: 1, confirmed_at: expect.any(Date) });
    expect(applied.get(receipt.event_id)).toBe(1);
    expect((await ops.getOutboxStatus({})).awaiting).toEqual([]);
  });
});
