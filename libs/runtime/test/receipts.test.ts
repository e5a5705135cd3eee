// Integration tier: the receipt API every deployment serves (lotse.receipts.v1), on the real
// PostgreSQL and NATS. A deployment consumes events of two producers — one applied, one parked —
// and each producer learns only which of its own events arrived.
import { status } from '@grpc/grpc-js';
import { events, receipts } from '@lotse/contracts';
import { fieldViolationsOf } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { agencySubjects } from '@lotse/messaging';
import { grpcError, publishEvent, randomId, startTestNetwork, waitFor, type TestAgency, type TestNetwork } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { on, startAgency, subscribe, type AgencyConfig, type RunningAgency } from '../src/index.js';

const hubId = randomId('hub');
const producerA = randomId('mbe-a');
const producerB = randomId('mbe-b');
const consoleId = randomId('console');

let net: TestNetwork;
let hub: TestAgency<{ start(): Promise<RunningAgency<any>>; stop(): Promise<void> }>;
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
  const handlers = {
    ReferralAccepted: on(events.ReferralAccepted, async (_trx, message) => {
      if (message.referralId === 'fails') throw new Error('this one always fails');
    }),
  };
  hub = await net.agency({
    id: hubId,
    database: 'lotse_receipts_test',
    create: (config) => {
      let running: RunningAgency<any> | undefined;
      return {
        async start() {
          running = await startAgency<any>(
            config as AgencyConfig,
            { migrations: {}, services: () => [], subscriptions: () => [subscribe(producerA, agencySubjects(producerA), handlers), subscribe(producerB, agencySubjects(producerB), handlers)] },
            { logger: createLogger(hubId, { level: 'silent' }), consumer: { maxDeliver: 2, retryDelaysMs: [50] } },
          );
          return running;
        },
        stop: async () => running?.stop(),
      };
    },
  });
  const accepted = (producer: string, referralId: string) =>
    publishEvent(net.nats, { producer, eventType: 'ReferralAccepted', codec: events.ReferralAccepted, message: events.ReferralAccepted.fromPartial({ referralId, caseRef: 'C-R1', providerId: producer }), caseRef: 'C-R1' });
  ids.appliedA = await accepted(producerA, 'ok');
  ids.parkedA = await accepted(producerA, 'fails');
  ids.appliedB = await accepted(producerB, 'ok');
  const db = hub.running.ctx.db;
  await waitFor(async () => {
    const inbox = await db.selectFrom('inbox').select('event_id').execute();
    const parked = await db.selectFrom('parked_message').select('event_id').execute();
    return inbox.length + parked.length === 3 && parked.length === 1;
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
