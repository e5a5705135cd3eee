// Integration tier: a provider reconciles its events to the hub with the hub's receipts (issue 17),
// on the real PostgreSQL and NATS, with the real hub. The provider's answer (ReferralAccepted) is
// relayed while the hub is down, and the provider's stream is purged before the hub consumed it
// (as an operator's purge would leave it; the stream stays, so the relay sees no reset). The
// provider's receipt follow-up asks the hub, sends the lost event again from its outbox, and the
// hub applies it once; an event a recipient never confirms ends stuck and shows in GetOutboxStatus.
import { common, events, migrationServices as ms, operator } from '@lotse/contracts';
import { berlinDate } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { create as createHub, type HubDb } from '@lotse/lotsenhaus';
import { streamName, type MessagingTables } from '@lotse/messaging';
import { eventTypesSent, receiptFollowUp, type RunningAgency } from '@lotse/runtime';
import { publishEvent, randomId, sleep, startTestNetwork, streamEvents, waitFor, type TestNetwork } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, type MigrationServicesDb } from '../src/index.js';

const { AgeGroup, Purpose, ReferralStatus, ContactChannel } = common;

const hubId = randomId('hub');
const foId = randomId('fo');
const providerId = randomId('mbe');
const consoleId = randomId('console');
const afterMs = 300;
const logLevel = process.env.LOG_LEVEL ?? 'silent';

let net: TestNetwork;
let hubConfig: Parameters<typeof createHub>[0];
let hubDb: import('@lotse/db').Kysely<HubDb>;
let provider: ReturnType<typeof create>;
let providerRunning: RunningAgency<MigrationServicesDb>;
let client: import('@lotse/grpc').PromiseClient<ms.MigrationServicesServiceClient>;
let ops: import('@lotse/grpc').PromiseClient<operator.OperatorServiceClient>;

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'receipt-follow-up',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: providerId, agencyType: 'migration-services' },
      { id: consoleId, agencyType: 'operator' },
    ],
    streams: [foId],
  });
  const directoryFile = net.file('directory.json', {
    region: 'Test region',
    municipalities: [{ code: 'andernach', name: 'Stadt Andernach' }],
    referrers: [{ agencyId: foId, name: 'Test-Ausländerbehörde', agencyType: 'foreign-office' }],
    providers: [{ providerId, name: 'Test MBE', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult'], municipalities: ['andernach'] }] }],
  });
  const database = await net.database('lotse_rfu_hub');
  hubConfig = { ...net.agencyConfig(hubId, database), logLevel: 'silent', directoryFile, routingFollowUp: { intervalMs: 0, afterMs: 60_000, maxAttempts: 5 } } as Parameters<typeof createHub>[0];
  hubService = createHub(hubConfig, { logger: createLogger(hubId, { level: logLevel }) });
  const hubRunning = await net.start(hubService);
  // The hub is stopped and started again on the same port below; the provider keeps its address.
  hubConfig = { ...hubConfig, grpc: { host: '127.0.0.1', port: hubRunning.grpcPort } };
  hubDb = (await net.pool<HubDb>(database)).db;

  const started = await net.agency({
    id: providerId,
    database: 'lotse_rfu_mbe',
    create: (config) =>
      create(
        {
          ...config,
          logLevel: 'silent',
          hubAgencyId: hubId,
          hubAddress: `127.0.0.1:${hubRunning.grpcPort}`,
          peers: new Map(),
          // The test runs each pass itself (interval 0); two sends, then stuck.
          receiptFollowUp: { intervalMs: 0, afterMs, maxAttempts: 2 },
        },
        { logger: createLogger(providerId, { level: logLevel }) },
      ),
  });
  provider = started.service;
  providerRunning = started.running;
  client = started.client(ms.MigrationServicesServiceClient);
  ops = started.client(operator.OperatorServiceClient, consoleId);
});

afterAll(() => net?.close());

let hubService: ReturnType<typeof createHub>;

/** Plays the foreign office: a referral request the hub routes to the provider. */
async function requestReferral() {
  const caseRef = `C-${uuidv7().slice(-12).toUpperCase()}`;
  const referralId = uuidv7();
  await publishEvent(net.nats, {
    producer: foId,
    codec: events.ReferralRequested,
    message: events.ReferralRequested.fromPartial({
      referralId,
      caseRef,
      referrerAgencyId: foId,
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      consentId: uuidv7(),
      consentedRecipients: ['migration-services'],
      municipality: 'andernach',
      ageGroup: AgeGroup.AGE_GROUP_ADULT,
      requestedAt: new Date(),
    }),
    caseRef,
  });
  return { caseRef, referralId };
}

const hubStatus = async (referralId: string) => (await hubDb.selectFrom('hub_referral').select('status').where('referral_id', '=', referralId).executeTakeFirst())?.status;
const stepsAtHub = (caseRef: string, eventType: string) =>
  hubDb.selectFrom('timeline_entry').select('event_id').where('case_ref', '=', caseRef).where('event_type', '=', eventType).execute();
const providerEvents = async (eventType: string) => (await streamEvents(net.nats, providerId)).filter((e) => e.envelope.eventType === eventType);
// The messaging lib's tables, in the provider's database (tests may look into any table).
const providerTables = () => providerRunning.ctx.db as unknown as import('@lotse/db').Kysely<MessagingTables>;
const outboxEventId = async (eventType: string, caseRef: string) =>
  (await providerTables().selectFrom('outbox').select(['event_id', 'published_at']).where('event_type', '=', eventType).where('case_ref', '=', caseRef).executeTakeFirstOrThrow());
const receipt = (eventId: string) => providerTables().selectFrom('outbox_receipt').selectAll().where('recipient', '=', hubId).where('event_id', '=', eventId).executeTakeFirst();

describe('events of the provider the hub never received', () => {
  const referral = { caseRef: '', referralId: '', providerReferralId: '' };

  it('the follow-up asks for the event types the flow table lets a provider send the hub', () => {
    const types = eventTypesSent('migration-services', 'lotsenhaus');
    expect(types).toEqual(expect.arrayContaining(['ReferralReceived', 'ReferralAccepted', 'FirstContactRecorded', 'ReferralCompleted']));
    expect(types).not.toContain('ReferralRouted');
  });

  it('are sent again from the outbox once the broker lost them, applied by the hub once, then confirmed and left alone', async () => {
    Object.assign(referral, await requestReferral());
    const inbox = await waitFor(async () => {
      const { referrals } = await client.listReferrals({ status: 0, pageSize: 0, pageToken: '' });
      return referrals.find((r) => r.caseRef === referral.caseRef);
    }, 'the routed referral in the provider inbox');
    referral.providerReferralId = inbox.referralId;
    await waitFor(async () => (await stepsAtHub(referral.caseRef, 'ReferralReceived')).length === 1, 'the hub to apply the receipt');
    // The receipt is older than afterMs and the hub has it: confirmed, nothing sent.
    await sleep(afterMs + 50);
    expect(await provider.receiptFollowUp!.runOnce()).toBe(0);
    const received = await outboxEventId('ReferralReceived', referral.caseRef);
    expect(await receipt(received.event_id)).toMatchObject({ sends: 0, confirmed_at: expect.any(Date) });

    // The hub is down while the provider accepts; the answer is relayed, then purged unconsumed.
    await hubService.stop();
    await client.acceptReferral({ requestId: `acc-${uuidv7()}`, referralId: referral.providerReferralId });
    const accepted = await waitFor(async () => {
      const row = await outboxEventId('ReferralAccepted', referral.caseRef).catch(() => undefined);
      return row?.published_at ? row : undefined;
    }, 'the acceptance relayed');
    await waitFor(async () => (await providerEvents('ReferralAccepted')).length === 1, 'the acceptance in the provider stream');
    await net.nats.jsm.streams.purge(streamName(providerId));
    expect(await providerEvents('ReferralAccepted')).toEqual([]);

    // The hub cannot be asked: logged, nothing counted, tried next run.
    await sleep(afterMs + 50);
    expect(await provider.receiptFollowUp!.runOnce()).toBe(0);
    expect(await receipt(accepted.event_id)).toBeUndefined();

    // Again on its port, its database as it was.
    hubService = createHub(hubConfig, { logger: createLogger(hubId, { level: logLevel }) });
    await net.start(hubService);
    await sleep(200);
    expect(await hubStatus(referral.referralId)).not.toBe(ReferralStatus.REFERRAL_STATUS_ACCEPTED);
    // The one event the hub lacks goes out again; the receipt it has stays confirmed.
    expect(await provider.receiptFollowUp!.runOnce()).toBe(1);
    expect(await receipt(accepted.event_id)).toMatchObject({ sends: 1, confirmed_at: null });
    await waitFor(async () => (await hubStatus(referral.referralId)) === ReferralStatus.REFERRAL_STATUS_ACCEPTED, 'the hub to apply the acceptance sent again');
    const again = await providerEvents('ReferralAccepted');
    expect(again.map((e) => e.envelope.eventId)).toEqual([accepted.event_id]);
    expect(await stepsAtHub(referral.caseRef, 'ReferralAccepted')).toEqual([{ event_id: accepted.event_id }]);

    // Asked again after the send: confirmed; further runs send nothing.
    await sleep(afterMs + 50);
    expect(await provider.receiptFollowUp!.runOnce()).toBe(0);
    expect(await receipt(accepted.event_id)).toMatchObject({ sends: 1, confirmed_at: expect.any(Date) });
    const inStream = (await streamEvents(net.nats, providerId)).length;
    await sleep(afterMs + 50);
    expect(await provider.receiptFollowUp!.runOnce()).toBe(0);
    await sleep(100);
    expect((await streamEvents(net.nats, providerId)).length).toBe(inStream);
    expect(await stepsAtHub(referral.caseRef, 'ReferralAccepted')).toHaveLength(1);
    expect((await ops.getOutboxStatus({})).awaiting).toEqual([]);
  });

  it('that a recipient never confirms are sent again as configured, then stuck, shown in GetOutboxStatus', async () => {
    await client.recordFirstContact({ requestId: `fc-${uuidv7()}`, referralId: referral.providerReferralId, contactDate: berlinDate(new Date()), channel: ContactChannel.CONTACT_CHANNEL_IN_PERSON, interpreterUsed: false });
    const contact = await waitFor(async () => {
      const row = await outboxEventId('FirstContactRecorded', referral.caseRef).catch(() => undefined);
      return row?.published_at ? row : undefined;
    }, 'the first contact relayed');
    await waitFor(async () => (await stepsAtHub(referral.caseRef, 'FirstContactRecorded')).length === 1, 'the hub to apply the first contact');
    // A recipient that never confirms (its answer always empty), kept in the same bookkeeping.
    const deaf = receiptFollowUp(providerRunning.ctx, { agencyId: hubId, address: 'unused' }, eventTypesSent('migration-services', 'lotsenhaus'), { intervalMs: 0, afterMs, maxAttempts: 2 }, { confirm: async () => [] });
    for (const expected of [1, 1, 0]) {
      await waitFor(async () => ((await outboxEventId('FirstContactRecorded', referral.caseRef)).published_at ? true : undefined), 'sent');
      await sleep(afterMs + 50);
      expect(await deaf.runOnce()).toBe(expected);
    }
    expect(await receipt(contact.event_id)).toMatchObject({ sends: 2, confirmed_at: null });
    // The hub dropped the copies by the event id.
    await sleep(300);
    expect(await stepsAtHub(referral.caseRef, 'FirstContactRecorded')).toHaveLength(1);
    const { awaiting } = await ops.getOutboxStatus({});
    expect(awaiting).toEqual([{ eventType: 'FirstContactRecorded', waitsOn: hubId, waiting: 1, stuck: 1, oldestAt: expect.any(Date) }]);
    // The real follow-up leaves a stuck event alone as well.
    await sleep(afterMs + 50);
    expect(await provider.receiptFollowUp!.runOnce()).toBe(0);
  });
});
