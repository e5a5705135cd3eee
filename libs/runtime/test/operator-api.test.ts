import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { events, operator } from '@lotse/contracts';
import { sql, type Kysely, type Migrations, type TestDatabase } from '@lotse/db';
import { createClient, fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { connectNats, ensureAgencyStream, streamName, type NatsClients } from '@lotse/messaging';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { shutdownTelemetry, startTelemetry } from '@lotse/telemetry';
import { createTestDatabase, grpcError, natsUrl, publishEvent, randomId, waitFor } from '@lotse/testing';
import { MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Generated } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { on, startAgency, subjectOf, subscribe, type AgencyConfig, type RunningAgency } from '../src/index.js';

class TestMetricReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const spans = new InMemorySpanExporter();
const reader = new TestMetricReader();
startTelemetry({ serviceName: 'runtime-test', exporter: spans, metricReaders: [reader], simple: true });

interface TestDb {
  effect: { id: Generated<number>; event_id: string };
}

const effectMigrations: Migrations = {
  test_0001_effect: {
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('effect')
        .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

const dir = mkdtempSync(join(tmpdir(), 'lotse-runtime-test-'));
const pkiDir = join(dir, 'pki');
const streams: string[] = [];

afterAll(async () => {
  await shutdownTelemetry();
  rmSync(dir, { recursive: true, force: true });
});

// The same tests on both databases a deployment may have: the embedded one has a single
// connection, so anything that used `db` inside the replay's transaction would hang there.
describe.each(['postgres', 'pglite'] as const)('operator API of a deployment (%s)', (kind) => {
  const agencyId = randomId('agency');
  const producer = randomId('producer');
  const intruderId = randomId('intruder');
  const subject = subjectOf(producer, events.ReferralRouted);
  let database: TestDatabase | undefined;
  let running: RunningAgency<TestDb>;
  let nats: NatsClients;
  let console_: PromiseClient<operator.OperatorServiceClient>;
  let intruder: PromiseClient<operator.OperatorServiceClient>;
  // The condition that makes the handler fail, "fixed" by the test before the replay.
  let directoryLoaded = false;

  const ids = { malformed: '', failing: '' };
  let failingEventId = '';
  const traceId = uuidv7().replace(/-/g, '');

  beforeAll(async () => {
    streams.push(agencyId, producer);
    await ensureDevPki(pkiDir, [
      { id: agencyId, agencyType: 'test-agency' },
      { id: 'console', agencyType: 'operator' },
      { id: intruderId, agencyType: 'foreign-office' },
    ]);
    if (kind === 'postgres') database = await createTestDatabase('lotse_runtime_test');
    const config: AgencyConfig = {
      agencyId,
      agencyType: 'test-agency',
      grpc: { host: '127.0.0.1', port: 0 },
      database: database ? { url: database.url, dataDir: 'unused' } : { dataDir: 'memory://' },
      natsUrl,
      pkiDir,
      logLevel: 'silent',
    };
    running = await startAgency<TestDb>(
      config,
      {
        migrations: effectMigrations,
        services: () => [],
        subscriptions: (ctx) => [
          subscribe<TestDb>(producer, subject, [
            on(events.ReferralRouted, async (trx, message, env) => {
              if (message.referralId === 'needs-directory' && !directoryLoaded) throw new Error('provider directory not loaded');
              await trx.insertInto('effect').values({ event_id: env.eventId }).execute();
              // A follow-up event: a replay goes out through the outbox like a normal delivery.
              await ctx.publish(trx, events.ReferralReceived, { referralId: message.referralId, caseRef: env.caseRef, providerId: agencyId }, env.caseRef);
            }),
          ]),
        ],
      },
      { logger: createLogger(agencyId, { level: 'silent' }), consumer: { maxDeliver: 2, retryDelaysMs: [50] } },
    );
    nats = await connectNats({ servers: natsUrl, name: 'runtime-test' });
    const address = `127.0.0.1:${running.grpcPort}`;
    console_ = createClient(operator.OperatorServiceClient, address, loadIdentity(pkiDir, 'console'));
    intruder = createClient(operator.OperatorServiceClient, address, loadIdentity(pkiDir, intruderId));

    // Two messages that end up parked: bytes that are no envelope, and an event whose handler fails.
    // The producer makes its stream (consumers do not).
    await ensureAgencyStream(nats.jsm, producer);
    await nats.js.publish(subject, new TextEncoder().encode('not an envelope'), { msgID: uuidv7() });
    failingEventId = await publishEvent(nats, {
      producer,
      codec: events.ReferralRouted,
      message: events.ReferralRouted.fromPartial({ referralId: 'needs-directory', caseRef: 'case-42' }),
      caseRef: 'case-42',
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    const parked = await waitFor(async () => {
      const { messages } = await console_.listParkedMessages({ includeResolved: false });
      return messages.length === 2 && messages;
    }, 'two parked messages');
    ids.malformed = parked[0]!.parkedId;
    ids.failing = parked[1]!.parkedId;
  });

  afterAll(async () => {
    console_?.close();
    intruder?.close();
    await running?.stop();
    for (const id of streams.splice(0)) await nats?.jsm.streams.delete(streamName(id)).catch(() => undefined);
    await nats?.close();
    await database?.drop();
  });

  const effects = async () => (await sql<{ n: number }>`select count(*)::int as n from effect`.execute(running.ctx.db)).rows[0]!.n;
  const actions = async () =>
    (await sql<{ action: string; parked_id: number; operator_agency_id: string; operator_name: string; reason: string; request_id: string }>`
      select action, parked_id, operator_agency_id, operator_name, reason, request_id from operator_action order by id`.execute(running.ctx.db)).rows;

  it('lists parked messages with what their envelope says, and the raw bytes', async () => {
    const { messages } = await console_.listParkedMessages({ includeResolved: false });
    const [malformed, failing] = messages;
    expect(malformed).toMatchObject({ consumer: agencyId, stream: streamName(producer), subject, eventId: '', eventType: '', caseRef: '', deliveries: 2 });
    expect(malformed!.error).toMatch(/malformed event/);
    expect(Buffer.from(malformed!.data).toString()).toBe('not an envelope');
    expect(failing).toMatchObject({ eventId: failingEventId, eventType: 'ReferralRouted', caseRef: 'case-42', error: 'provider directory not loaded' });
    expect(failing!.parkedAt).toBeInstanceOf(Date);
    expect(failing!.replayedAt).toBeUndefined();

    // The broker never lost this deployment's stream, and nobody reads it (so nothing is confirmed).
    expect(await console_.getOutboxStatus({})).toEqual({
      backlog: 0,
      oldestUnpublishedAt: undefined,
      parked: 2,
      streamResets: 0,
      lastStreamResetAt: undefined,
      republishedAtLastReset: 0,
      confirmedBefore: undefined,
      durablesRecreated: 0,
      awaiting: [],
    });
  });

  it('refuses callers that are not operators, before looking at the request', async () => {
    for (const call of [
      intruder.listParkedMessages({ includeResolved: true }),
      intruder.replayParkedMessage({ requestId: 'r-x', parkedId: ids.failing, operatorName: 'x' }),
      intruder.discardParkedMessage({ requestId: '', parkedId: '', operatorName: '', reason: '' }),
      intruder.getOutboxStatus({}),
    ]) {
      expect((await grpcError(call)).code).toBe(status.PERMISSION_DENIED);
    }
    expect(await actions()).toEqual([]);
  });

  it('validates request_id and parked_id and answers NOT_FOUND for an unknown message', async () => {
    const invalid = await grpcError(console_.replayParkedMessage({ requestId: '', parkedId: 'abc', operatorName: '' }));
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(invalid).map((v) => v.field)).toEqual(['request_id', 'parked_id']);
    const missing = await grpcError(console_.discardParkedMessage({ requestId: 'd-0', parkedId: '', operatorName: '', reason: '' }));
    expect(fieldViolationsOf(missing).map((v) => v.field)).toEqual(['parked_id']);
    const unknown = await grpcError(console_.replayParkedMessage({ requestId: 'r-0', parkedId: '999999', operatorName: 'Ops' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toContain('parked_id');
  });

  it('keeps a message parked when its replay fails again, and audits the attempt', async () => {
    const failed = await grpcError(console_.replayParkedMessage({ requestId: 'r-1', parkedId: ids.failing, operatorName: 'Ops Koblenz' }));
    expect(failed.code).toBe(status.FAILED_PRECONDITION);
    expect(await effects()).toBe(0);
    const { messages } = await console_.listParkedMessages({ includeResolved: false });
    expect(messages.map((m) => m.parkedId)).toContain(ids.failing);
    expect(await actions()).toEqual([
      { action: 'replay_failed', parked_id: Number(ids.failing), operator_agency_id: 'console', operator_name: 'Ops Koblenz', reason: '', request_id: 'r-1' },
    ]);
  });

  it('replays once the cause is fixed: applied once, audited in the same transaction, idempotent on request_id', async () => {
    directoryLoaded = true;
    const request = { requestId: 'r-2', parkedId: ids.failing, operatorName: 'Ops Koblenz' };
    const { message } = await console_.replayParkedMessage(request);
    expect(message).toMatchObject({ parkedId: ids.failing, eventId: failingEventId, caseRef: 'case-42' });
    expect(message!.replayedAt).toBeInstanceOf(Date);
    expect(await effects()).toBe(1);

    // The same request again (a retry after a timeout): the first answer, nothing new.
    const again = await console_.replayParkedMessage(request);
    expect(again).toEqual({ message });
    expect(await effects()).toBe(1);
    // Another request for a message already replayed.
    const late = await grpcError(console_.replayParkedMessage({ ...request, requestId: 'r-3' }));
    expect(late.code).toBe(status.FAILED_PRECONDITION);
    // The same request id for something else.
    expect((await grpcError(console_.replayParkedMessage({ ...request, parkedId: ids.malformed }))).code).toBe(status.INVALID_ARGUMENT);

    expect((await actions()).filter((a) => a.action === 'replay')).toEqual([
      { action: 'replay', parked_id: Number(ids.failing), operator_agency_id: 'console', operator_name: 'Ops Koblenz', reason: '', request_id: 'r-2' },
    ]);
    // The handler's follow-up event goes out.
    await waitFor(async () => (await console_.getOutboxStatus({})).backlog === 0 && (await running.ctx.db.selectFrom('outbox' as any).selectAll().execute()).length === 1, 'follow-up published');
  });

  it('discards a message with a reason, audited, and refuses to replay it afterwards', async () => {
    const request = { requestId: 'd-1', parkedId: ids.malformed, operatorName: 'Ops Koblenz', reason: 'not an envelope; producer bug reported' };
    const { message } = await console_.discardParkedMessage(request);
    expect(message!.discardedAt).toBeInstanceOf(Date);
    expect(await console_.discardParkedMessage(request)).toEqual({ message });
    expect((await grpcError(console_.discardParkedMessage({ ...request, requestId: 'd-2' }))).code).toBe(status.FAILED_PRECONDITION);
    expect((await grpcError(console_.replayParkedMessage({ requestId: 'r-4', parkedId: ids.malformed, operatorName: '' }))).code).toBe(status.FAILED_PRECONDITION);

    expect((await actions()).filter((a) => a.action === 'discard')).toEqual([
      { action: 'discard', parked_id: Number(ids.malformed), operator_agency_id: 'console', operator_name: 'Ops Koblenz', reason: request.reason, request_id: 'd-1' },
    ]);
    expect((await console_.listParkedMessages({ includeResolved: false })).messages).toEqual([]);
    expect((await console_.listParkedMessages({ includeResolved: true })).messages).toHaveLength(2);
    expect((await console_.getOutboxStatus({})).parked).toBe(0);
  });

  it('reconciles on request: the outbox sends again what was published since, audited, once per request_id', async () => {
    const request = { requestId: 'rc-1', since: new Date(Date.now() - 3_600_000), operatorName: 'Ops Koblenz' };
    expect((await grpcError(intruder.reconcile(request))).code).toBe(status.PERMISSION_DENIED);
    const { republished } = await console_.reconcile(request);
    expect(republished).toBe(1); // the replay's follow-up event
    // A retried call gets the first answer and marks nothing again.
    expect(await console_.reconcile(request)).toEqual({ republished: 1 });
    expect((await actions()).filter((a) => a.action === 'reconcile')).toEqual([
      {
        action: 'reconcile',
        parked_id: null,
        operator_agency_id: 'console',
        operator_name: 'Ops Koblenz',
        reason: `since ${request.since.toISOString()}; 1 events re-published`,
        request_id: 'rc-1',
      },
    ]);
    await waitFor(async () => (await console_.getOutboxStatus({})).backlog === 0, 'the reconciled event published again');
  });

  it('traces the replay in the message’s own trace, linked to the operator’s call that carries the case ref', async () => {
    const finished = spans.getFinishedSpans();
    const call = finished.filter((s) => s.name === 'lotse.operator.v1.OperatorService/ReplayParkedMessage' && s.attributes['rpc.grpc.status_code'] === 0 && s.attributes['lotse.caller_agency'] === 'console');
    const replay = finished.find((s) => s.name === `replay ${subject}` && s.attributes['lotse.outcome'] === 'applied' && s.spanContext().traceId === traceId);
    expect(replay).toBeDefined();
    expect(replay!.attributes).toMatchObject({ 'lotse.case_ref': 'case-42', 'lotse.event_id': failingEventId, 'lotse.event_type': 'ReferralRouted', 'messaging.destination.name': subject });
    const caller = call.find((s) => s.spanContext().spanId === replay!.links[0]?.context.spanId);
    expect(caller?.attributes['lotse.case_ref']).toBe('case-42');
  });

  it('records the latency of every operator call per method and status', async () => {
    const { resourceMetrics } = await reader.collect();
    const points = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === 'rpc.server.duration')
      .flatMap((m) => m.dataPoints as DataPoint<{ count: number }>[]);
    const count = (method: string, code: number) =>
      points.filter((p) => p.attributes['rpc.method'] === method && p.attributes['rpc.grpc.status_code'] === code).reduce((n, p) => n + p.value.count, 0);
    expect(count('ReplayParkedMessage', status.OK)).toBeGreaterThanOrEqual(2);
    expect(count('ListParkedMessages', status.PERMISSION_DENIED)).toBeGreaterThanOrEqual(1);
    expect(points.find((p) => p.attributes['rpc.method'] === 'GetOutboxStatus')?.attributes['rpc.service']).toBe('lotse.operator.v1.OperatorService');
  });
});
