// Integration tier: the receipt API every deployment serves (lotse.receipts.v1), on the real
// PostgreSQL and NATS. A deployment consumes events of two producers — one applied, one parked —
// and each producer learns only which of its own events arrived.
import { status } from '@grpc/grpc-js';
import { events, receipts } from '@lotse/contracts';
import { fieldViolationsOf } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { agencySubjects } from '@lotse/messaging';
import { grpcError, publishEvent, randomId, sleep, startTestNetwork, waitFor, type TestAgency, type TestNetwork } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '@lotse/db';
import { on, receiptFollowUp, subscribe } from '../src/index.js';
import { startableAgency, type StartableAgency } from './fixtures/startable-agency.js';

const hubId = randomId('hub');
const producerA = randomId('mbe-a');
const producerB = randomId('mbe-b');
const consoleId = randomId('console');

let net: TestNetwork;
let hub: TestAgency<StartableAgency>;
const ids = { appliedA: '', parkedA: '', appliedB: '' };

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'receipts',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: producerA, agencyType: 'migration-services' },
      { id: producerB, agencyType: 'migration-services' },
      { id: consoleId, agencyType: 'operator' },
    ],
  });
  const handlers = [
    on(events.ReferralAccepted, async (_trx, message) => {
      if (message.referralId === 'fails') throw new Error('this one always fails');
    }),
  ];
  hub = await net.agency({
    id: hubId,
    database: 'lotse_receipts_test',
    create: startableAgency(
      { migrations: {}, services: () => [], subscriptions: () => [subscribe(producerA, agencySubjects(producerA), handlers), subscribe(producerB, agencySubjects(producerB), handlers)] },
      { logger: createLogger(hubId, { level: 'silent' }), consumer: { maxDeliver: 2, retryDelaysMs: [50] } },
    ),
  });
  const accepted = (producer: string, referralId: string) =>
    publishEvent(net.nats, { producer, codec: events.ReferralAccepted, message: events.ReferralAccepted.fromPartial({ referralId, caseRef: 'C-R1', providerId: producer }), caseRef: 'C-R1' });
  ids.appliedA = await accepted(producerA, 'ok');
  ids.parkedA = await accepted(producerA, 'fails');
  ids.appliedB = await accepted(producerB, 'ok');
  const db = hub.running.ctx.db;
  await waitFor(async () => {
    const applied = await db.selectFrom('applied_event').select('event_id').execute();
    const parked = await db.selectFrom('parked_message').select('event_id').execute();
    return applied.length + parked.length === 3 && parked.length === 1;
  }, 'two events applied and one parked');
});

afterAll(() => net?.close());

const ask = (as: string, eventIds: string[]) => hub.client(receipts.ReceiptServiceClient, as).confirmReceipts({ eventIds });

describe('ConfirmReceipts', () => {
  it("answers the caller's own events, applied or parked, and nothing of another producer's", async () => {
    const unknown = uuidv7();
    const all = [ids.appliedA, ids.parkedA, ids.appliedB, unknown];
    expect((await ask(producerA, all)).receivedEventIds.sort()).toEqual([ids.appliedA, ids.parkedA].sort());
    expect((await ask(producerB, all)).receivedEventIds).toEqual([ids.appliedB]);
    expect((await ask(producerA, [])).receivedEventIds).toEqual([]);
  });

  it('refuses more than 500 ids and ids that are none, with INVALID_ARGUMENT naming event_ids', async () => {
    for (const eventIds of [Array.from({ length: 501 }, () => uuidv7()), [ids.appliedA, "x' or 1=1 --"], ['']]) {
      const error = await grpcError(ask(producerA, eventIds));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldViolationsOf(error).map((v) => v.field)).toEqual(['event_ids']);
    }
    expect((await ask(producerA, Array.from({ length: 500 }, (_, i) => (i === 0 ? ids.appliedA : uuidv7())))).receivedEventIds).toEqual([ids.appliedA]);
  });

  it('is for deployments only: an operator certificate is refused', async () => {
    expect((await grpcError(ask(consoleId, [ids.appliedA]))).code).toBe(status.PERMISSION_DENIED);
  });
});

describe('the receipt follow-up of a producer', () => {
  // The deployment above as a producer; its recipient is played by `confirm`, which has everything.
  const afterMs = 200;
  const asked: string[][] = [];
  const followUp = (batch: number) =>
    receiptFollowUp(hub.running.ctx, { agencyId: 'recipient', address: 'unused' }, ['ReferralRouted'], { intervalMs: 0, afterMs, maxAttempts: 2, batch }, {
      confirm: async (eventIds) => {
        asked.push(eventIds);
        return eventIds;
      },
    });
  const publish = (n: number) =>
    hub.running.ctx.transact(async (trx) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(await hub.running.ctx.publish(trx, events.ReferralRouted, events.ReferralRouted.fromPartial({ referralId: uuidv7(), caseRef: 'C-F1' }), 'C-F1', 'recipient'));
      return ids;
    });
  const published = (ids: string[]) =>
    waitFor(async () => (await sql<{ n: number }>`select count(*)::int as n from outbox where event_id = any(${ids}) and published_at is not null`.execute(hub.running.ctx.db)).rows[0]!.n === ids.length, 'the events relayed');

  it('asks in batches, oldest first, about each event once', async () => {
    const f = followUp(2);
    const ids = await publish(5);
    await published(ids);
    await sleep(afterMs + 50);
    asked.length = 0;
    for (const expected of [2, 2, 1, 0]) {
      expect(await f.runOnce()).toBe(0);
      expect(asked.length ? asked.pop()!.length : 0).toBe(expected);
    }
    expect(await f.awaiting()).toEqual([]);
  });

  it('still finds an event whose transaction began minutes before it committed', async () => {
    const f = followUp(100);
    await f.runOnce(); // the first run reads the whole look-back; later ones the recent end
    const [late] = await publish(1);
    // As if its transaction had begun 4 minutes ago: created_at is the start of the transaction.
    await sql`update outbox set created_at = now() - interval '4 minutes' where event_id = ${late}`.execute(hub.running.ctx.db);
    await published([late!]);
    await sleep(afterMs + 50);
    asked.length = 0;
    await f.runOnce();
    expect(asked).toEqual([[late]]);
  });
});
