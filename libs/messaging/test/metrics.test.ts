import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from '@lotse/contracts';
import { shutdownTelemetry, startTelemetry } from '@lotse/telemetry';
import { MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { v7 as uuidv7 } from 'uuid';
import {
  enqueueEvent,
  eventSubject,
  OutboxRelay,
  registerMessagingGauges,
  startConsumer,
  type ConsumerHandle,
} from '../src/index.js';
import { logger, randomAgencyId, setupSuite, waitFor, type Suite } from './support.js';

/** Collects when asked, as the console's periodic export would. */
class TestMetricReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const reader = new TestMetricReader();
startTelemetry({ serviceName: 'messaging-test', metricReaders: [reader] });

async function points(name: string): Promise<DataPoint<unknown>[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics
    .filter((s) => s.scope.name === 'lotse')
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints as DataPoint<unknown>[]);
}

async function value(name: string, attributes: Record<string, unknown>): Promise<number | undefined> {
  const point = (await points(name)).find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  return point?.value as number | undefined;
}

describe('messaging metrics', () => {
  let suite: Suite;
  let relay: OutboxRelay;
  let consumer: ConsumerHandle;
  let unregister: () => void;
  const producer = randomAgencyId();
  const recipient = randomAgencyId();

  beforeAll(async () => {
    suite = await setupSuite();
    suite.agencies.push(producer);
    relay = new OutboxRelay({ db: suite.db, js: suite.nats.js, logger, producerAgencyId: producer, pollIntervalMs: 50 });
    let firstDelivery = true;
    consumer = await startConsumer({
      db: suite.db,
      js: suite.nats.js,
      jsm: suite.nats.jsm,
      logger,
      durableName: recipient,
      producerAgencyId: producer,
      filterSubjects: [eventSubject(producer, 'ReferralRouted')],
      maxDeliver: 2,
      retryDelaysMs: [50],
      handle: async (_trx, event) => {
        if (event.envelope.caseRef === 'poison') throw new Error('cannot apply');
        // The first event fails once, then succeeds: one "retried", one "applied".
        if (event.envelope.caseRef === 'flaky' && firstDelivery) {
          firstDelivery = false;
          throw new Error('not yet');
        }
      },
    });
    unregister = registerMessagingGauges({ db: suite.db, agencyId: recipient, jsm: suite.nats.jsm, consumers: [consumer] });
  });

  afterAll(async () => {
    unregister?.();
    await consumer?.stop();
    await relay?.stop();
    await suite?.cleanup();
    await shutdownTelemetry();
  });

  it('counts published and consumed events per subject, event type and outcome', async () => {
    const subject = eventSubject(producer, 'ReferralRouted');
    for (const caseRef of ['flaky', 'poison', 'fine']) {
      await suite.db.transaction().execute((trx) => enqueueEvent(trx, { producerAgencyId: producer, eventType: 'ReferralRouted', caseRef, payload: new Uint8Array() }));
    }
    expect(await relay.flush()).toBe(3);
    // A copy under another Nats-Msg-Id gets past the broker; applied_event catches it.
    const fine = await suite.db.selectFrom('outbox').select(['event_id', 'payload']).where('case_ref', '=', 'fine').executeTakeFirstOrThrow();
    await suite.nats.js.publish(subject, fine.payload, { msgID: `${fine.event_id}-copy` });

    const attrs = { 'messaging.destination.name': subject, 'lotse.event_type': 'ReferralRouted' };
    expect(await value('lotse.events.published', attrs)).toBe(3);
    // Poison is parked on its second delivery, after everything else was processed.
    await waitFor(async () => (await value('lotse.events.consumed', { ...attrs, 'lotse.outcome': 'parked' })) === 1, 10_000, 'poison parked');
    expect(await value('lotse.events.consumed', { ...attrs, 'lotse.outcome': 'applied' })).toBe(2);
    expect(await value('lotse.events.consumed', { ...attrs, 'lotse.outcome': 'duplicate' })).toBe(1);
    // flaky once, poison once before it was parked.
    expect(await value('lotse.events.consumed', { ...attrs, 'lotse.outcome': 'retried' })).toBe(2);

    // A message that is not an envelope at all is counted under "unknown".
    await suite.nats.js.publish(subject, new TextEncoder().encode('garbage'), { msgID: uuidv7() });
    await waitFor(
      async () => (await value('lotse.events.consumed', { 'messaging.destination.name': subject, 'lotse.event_type': 'unknown', 'lotse.outcome': 'parked' })) === 1,
      10_000,
      'malformed message parked',
    );
  });

  it('observes outbox backlog, parked messages and consumer lag for the deployment', async () => {
    const mine = { 'lotse.agency_id': recipient };
    // Two parked messages from the test above; the gauges read at most once a second.
    await waitFor(async () => (await value('lotse.parked.messages', mine)) === 2, 10_000, 'parked gauge');
    await waitFor(async () => (await value('lotse.consumer.lag', { ...mine, 'messaging.consumer.group.name': consumer.durableNames[0] })) === 0, 10_000, 'lag gauge');
    expect(await value('lotse.outbox.backlog', mine)).toBe(0);

    await suite.db.transaction().execute((trx) =>
      enqueueEvent(trx, { producerAgencyId: producer, eventType: 'ReferralRouted', caseRef: 'waiting', payload: envelope.Envelope.encode(envelope.Envelope.fromPartial({})).finish() }),
    );
    await waitFor(async () => (await value('lotse.outbox.backlog', mine)) === 1, 10_000, 'backlog gauge');

    // Unregistered (the deployment stopped): the database is not read any more.
    unregister();
    await suite.db.transaction().execute((trx) => enqueueEvent(trx, { producerAgencyId: producer, eventType: 'ReferralRouted', caseRef: 'later', payload: new Uint8Array() }));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await value('lotse.outbox.backlog', mine)).not.toBe(2);
  });
});
