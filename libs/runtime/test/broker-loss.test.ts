import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { events, operator } from '@lotse/contracts';
import { sql, type Kysely, type Migrations, type TestDatabase } from '@lotse/db';
import { createClient, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { agencySubjects, subjectsAddressedTo } from '@lotse/messaging';
import { eventFlows } from '@lotse/flows';
import { createTestDatabase, randomId, startTestBroker, waitFor, type TestBroker } from '@lotse/testing';
import type { Generated } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { on, startAgency, subscribe, type AgencyConfig, type RunningAgency } from '../src/index.js';

// Two deployments the way services wire them (startAgency), on a broker of the test's own: a
// sender whose requests the hub applies and answers. The hub's answers are its own outbox's
// events: when the broker loses them after the hub consumed the requests, only the hub's own
// reconciliation brings them back. Nothing is restarted. The broker runs as in the network: users
// from the deployments' certificates, permissions generated from the flow table (a sender of the
// migration services' type, the hub's type), so recovery needs no rights beyond them.

interface TestDb {
  effect: { id: Generated<number>; event_id: string; kind: string };
}

const effectMigrations: Migrations = {
  test_0001_effect: {
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('effect')
        .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

const dir = mkdtempSync(join(tmpdir(), 'lotse-runtime-broker-'));

/** Holds the sender's handler, so the hub's answers wait in the broker as behind a slow consumer. */
let release: (() => void) | undefined;
let gate: Promise<void> = Promise.resolve();
const closeGate = () => (gate = new Promise((resolve) => (release = resolve)));
const openGate = () => release?.();

describe('two deployments when the broker forgets everything', () => {
  const senderId = randomId('sender');
  const hubId = randomId('hub');
  let broker: TestBroker;
  const databases: TestDatabase[] = [];
  let sender: RunningAgency<TestDb>;
  let hub: RunningAgency<TestDb>;
  let hubOperator: PromiseClient<operator.OperatorServiceClient>;

  async function deployment(agencyId: string, agencyType: string, subscriptions: (ctx: RunningAgency<TestDb>['ctx']) => ReturnType<typeof subscribe<TestDb>>[]): Promise<RunningAgency<TestDb>> {
    const database = await createTestDatabase('lotse_runtime_broker');
    databases.push(database);
    const config: AgencyConfig = {
      agencyId,
      agencyType,
      grpc: { host: '127.0.0.1', port: 0 },
      database: { url: database.url, dataDir: 'unused' },
      natsUrl: broker.url,
      pkiDir: broker.pkiDir!,
      logLevel: 'silent',
    };
    return startAgency<TestDb>(config, { migrations: effectMigrations, services: () => [], subscriptions }, { logger: createLogger(agencyId, { level: process.env.LOG_LEVEL ?? 'silent' }) });
  }

  beforeAll(async () => {
    broker = await startTestBroker({
      network: {
        deployments: [
          { id: senderId, agencyType: 'migration-services' },
          { id: hubId, agencyType: 'lotsenhaus' },
        ],
        hubId,
        eventFlows: eventFlows(),
        // Its certificate calls the hub's operator API below.
        observers: [{ id: 'console', agencyType: 'operator' }],
      },
    });
    hub = await deployment(hubId, 'lotsenhaus', (ctx) => [
      subscribe<TestDb>(senderId, agencySubjects(senderId), [
        on(events.ReferralRequested, async (trx, message, env) => {
          await trx.insertInto('effect').values({ event_id: env.eventId, kind: 'request' }).execute();
          // Addressed to the sender, as the hub's events are: the sender may read only those.
          await ctx.publish(trx, events.ReferralStatusChanged, events.ReferralStatusChanged.fromPartial({ referralId: message.referralId, caseRef: env.caseRef, providerId: hubId }), env.caseRef, senderId);
        }),
      ]),
    ]);
    sender = await deployment(senderId, 'migration-services', () => [
      subscribe<TestDb>(hubId, subjectsAddressedTo(hubId, senderId), [
        on(events.ReferralStatusChanged, async (trx, _message, env) => {
          await gate;
          await trx.insertInto('effect').values({ event_id: env.eventId, kind: 'answer' }).execute();
        }),
      ]),
    ]);
    hubOperator = createClient(operator.OperatorServiceClient, `127.0.0.1:${hub.grpcPort}`, broker.identity('console'));
  });

  afterAll(async () => {
    openGate();
    hubOperator?.close();
    await sender?.stop();
    await hub?.stop();
    await broker?.cleanup();
    for (const database of databases) await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function request(n: number, from: number): Promise<void> {
    for (let i = from; i < from + n; i++) {
      await sender.ctx.transact((trx) =>
        sender.ctx.publish(trx, events.ReferralRequested, events.ReferralRequested.fromPartial({ referralId: `r-${i}`, caseRef: `c-${i}` }), `c-${i}`),
      );
    }
  }

  /** Direct SQL in both databases: each request applied once at the hub, each answer once at the sender. */
  async function accounting(): Promise<{ requests: number; applied: number; answers: number; answered: number; doubled: number }> {
    const one = async (db: Kysely<any>, query: ReturnType<typeof sql<{ n: number }>>) => (await query.execute(db)).rows[0]!.n;
    const doubled = sql<{ n: number }>`select count(*)::int as n from (select event_id from effect group by event_id having count(*) > 1) d`;
    return {
      requests: await one(sender.ctx.db, sql`select count(*)::int as n from outbox`),
      applied: await one(hub.ctx.db, sql`select count(distinct event_id)::int as n from effect where kind = 'request'`),
      answers: await one(hub.ctx.db, sql`select count(*)::int as n from outbox`),
      answered: await one(sender.ctx.db, sql`select count(distinct event_id)::int as n from effect where kind = 'answer'`),
      doubled: (await one(hub.ctx.db, doubled)) + (await one(sender.ctx.db, doubled)),
    };
  }

  it('a wiped store after the hub consumed: both rebuild their streams and durables, the hub re-publishes its answers, each arrives once', async () => {
    await request(40, 0);
    await waitFor(async () => (await accounting()).answered === 40, 'the first 40 answered', 20_000);
    // The hub consumes 60 more requests and publishes its answers; the sender has not read them
    // when the broker forgets: only the hub's own outbox still has them.
    closeGate();
    await request(60, 40);
    const hubBacklog = async () => (await sql<{ n: number }>`select count(*)::int as n from outbox where published_at is null`.execute(hub.ctx.db)).rows[0]!.n;
    await waitFor(async () => (await accounting()).answers === 100 && (await hubBacklog()) === 0, 'the hub answered 100', 20_000);
    await broker.wipe();
    const back = Date.now();
    await request(20, 100);
    openGate();
    try {
      await waitFor(async () => (await accounting()).answered === 120, 'all 120 answered', 30_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}; got ${JSON.stringify(await accounting())}`);
    }
    const ms = Date.now() - back;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const result = await accounting();
    console.log(`[broker-loss] two deployments, store wiped after the hub consumed: all 120 requests answered ${ms} ms after the broker came back`, result);
    expect(result).toEqual({ requests: 120, applied: 120, answers: 120, answered: 120, doubled: 0 });

    const status = await hubOperator.getOutboxStatus({});
    expect(status.streamResets).toBeGreaterThanOrEqual(1);
    expect(status.lastStreamResetAt!.getTime()).toBeGreaterThanOrEqual(back - 1_000);
    expect(status.durablesRecreated).toBeGreaterThanOrEqual(1);
    expect(status.backlog).toBe(0);

    // An operator's reconciliation sends everything again; the consumers' applied_event tables drop every copy.
    const { republished } = await hubOperator.reconcile({ requestId: 'reconcile-1', since: new Date(back - 60_000), operatorName: 'test' });
    expect(republished).toBe(120);
    await waitFor(async () => (await hubOperator.getOutboxStatus({})).backlog === 0, 'the reconciliation published', 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await accounting()).toEqual({ requests: 120, applied: 120, answers: 120, answered: 120, doubled: 0 });
  });
});
