// The Lotsenhaus hub booted in-process on the real PostgreSQL and NATS JetStream, over gRPC with
// mTLS, with a directory of one referrer and two providers (adults and youth in Andernach). The
// test plays the referrer and the providers: it publishes their events into their streams. One
// start per test file: vitest runs the files in parallel, each with a database, agency ids and
// streams of its own.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { common, events, eventTypeOf, lotsenhaus } from '@lotse/contracts';
import type { PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { agencySubjects, durableNameFor, type NatsClients } from '@lotse/messaging';
import { subjectOf, type RunningAgency } from '@lotse/runtime';
// Telemetry is switched on from outside the service (`node --import`); the fixture registers it
// in-process so that trace ids propagate.
import { shutdownTelemetry, startTelemetry } from '@lotse/telemetry';
import { publishEvent, randomId, startTestNetwork, streamEvents, waitFor, type StoredEvent } from '@lotse/testing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { v7 as uuidv7 } from 'uuid';
import { create, type HubDb } from '../../src/index.js';

const { AgeGroup, Purpose } = common;

/** A routing is overdue after this long; the follow-up runs only when a test asks. */
export const followUpAfterMs = 300;

export const newCaseRef = () => `C-${randomBytes(6).toString('hex').toUpperCase()}`;

type ProviderEventType = 'ReferralReceived' | 'ReferralAccepted' | 'FirstContactRecorded' | 'ReferralDeclined';
type ProviderMessage = events.ReferralReceived | events.ReferralAccepted | events.FirstContactRecorded | events.ReferralDeclined;

export type HubUnderTest = Awaited<ReturnType<typeof startHubFixture>>;

export async function startHubFixture() {
  const hubId = randomId('hub');
  const referrerId = randomId('fo');
  const adultProviderId = randomId('mbe');
  const youthProviderId = randomId('jmd');
  const spans = new InMemorySpanExporter();
  // Every line the hub logs, down to debug, so a test can check what never goes into a log.
  const logLines: string[] = [];
  const logSink = {
    write(line: string) {
      logLines.push(line);
      if (process.env.LOG_LEVEL) process.stdout.write(line);
    },
  };

  startTelemetry({ serviceName: 'test', exporter: spans, simple: true });
  const net = await startTestNetwork({
    name: 'hub',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: referrerId, agencyType: 'foreign-office' },
    ],
    streams: [adultProviderId, youthProviderId],
  }).catch(async (error) => {
    await shutdownTelemetry();
    throw error;
  });
  net.onClose(() => shutdownTelemetry());
  try {
    const nats: NatsClients = net.nats;
    const directoryFile = net.file('directory.json', {
      region: 'Test region',
      municipalities: [
        { code: 'andernach', name: 'Stadt Andernach' },
        { code: 'mayen', name: 'Stadt Mayen' },
      ],
      referrers: [{ agencyId: referrerId, name: 'Test-Ausländerbehörde', agencyType: 'foreign-office' }],
      providers: [
        { providerId: adultProviderId, name: 'Test MBE', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult'], municipalities: ['andernach'] }] },
        { providerId: youthProviderId, name: 'Test JMD', agencyType: 'migration-services', agreements: [{ ageGroups: ['youth'], municipalities: ['andernach'] }] },
      ],
    });
    const started = await net.agency({
      id: hubId,
      database: 'lotse_hub_test',
      create: (config) =>
        create(
          {
            ...config,
            logLevel: 'silent',
            directoryFile,
            // The follow-up runs only when a test asks (interval 0); a routing is overdue after 300 ms.
            routingFollowUp: { intervalMs: 0, afterMs: followUpAfterMs, maxAttempts: 2 },
          },
          { logger: createLogger(hubId, { level: process.env.LOG_LEVEL ?? 'debug' }, logSink) },
        ),
    });
    const hub = started.service;
    const running: RunningAgency<HubDb> = started.running;
    const client: PromiseClient<lotsenhaus.LotsenhausServiceClient> = started.client(lotsenhaus.LotsenhausServiceClient, referrerId);

    async function timeline(caseRef: string) {
      try {
        return await client.getCaseTimeline({ caseRef });
      } catch (error) {
        if ((error as { code?: number }).code === status.NOT_FOUND) return undefined;
        throw error;
      }
    }

    const ofType = (stored: StoredEvent[], subject: string, referralId: string, decode: (b: Uint8Array) => { referralId: string }) =>
      stored.filter((e) => e.subject === subject).filter((e) => decode(e.envelope.payload).referralId === referralId);

    return {
      hubId,
      referrerId,
      adultProviderId,
      youthProviderId,
      nats,
      service: hub,
      running,
      client,
      spans,
      logLines,
      hubDurable: (producer: string) => durableNameFor(hubId, agencySubjects(producer)),
      timeline,
      async waitForTimeline(caseRef: string, minEntries: number, what = `${minEntries} timeline entries of ${caseRef}`) {
        return waitFor(async () => {
          const t = await timeline(caseRef);
          return t && t.entries.length >= minEntries ? t : undefined;
        }, what);
      },
      /** Plays the referrer: a ReferralRequested as its relay would publish it. */
      async requestReferral(overrides: Partial<events.ReferralRequested> = {}, traceparent?: string) {
        const caseRef = overrides.caseRef ?? newCaseRef();
        const message = events.ReferralRequested.fromPartial({
          referralId: uuidv7(),
          caseRef,
          referrerAgencyId: referrerId,
          purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
          consentId: uuidv7(),
          consentedRecipients: ['migration-services'],
          municipality: 'andernach',
          ageGroup: AgeGroup.AGE_GROUP_ADULT,
          requestedAt: new Date(),
          ...overrides,
        });
        const eventId = await publishEvent(nats, { producer: referrerId, codec: events.ReferralRequested, message, caseRef, traceparent });
        return { caseRef, referralId: message.referralId, eventId, message };
      },
      /** Plays a provider: one of its steps with a referral. */
      providerEvent(producer: string, eventType: ProviderEventType, message: ProviderMessage, caseRef: string, ids: { eventId?: string; msgId?: string } = {}) {
        const codec = events[eventType] as { encode(m: ProviderMessage): { finish(): Uint8Array } };
        return publishEvent(nats, { producer, eventType, codec, message, caseRef, ...ids });
      },
      /** The ReferralStatusChanged the hub told the referrer about a referral, oldest first. */
      async statusChanges(referralId: string) {
        const stored = await streamEvents(nats, hubId);
        return ofType(stored, subjectOf(hubId, events.ReferralStatusChanged, referrerId), referralId, events.ReferralStatusChanged.decode).map((e) =>
          events.ReferralStatusChanged.decode(e.envelope.payload),
        );
      },
      async routedEvents(referralId: string) {
        const stored = await streamEvents(nats, hubId);
        return stored
          .filter((e) => e.envelope.eventType === eventTypeOf(events.ReferralRouted))
          .filter((e) => events.ReferralRouted.decode(e.envelope.payload).referralId === referralId);
      },
      stop: () => net.close(),
    };
  } catch (error) {
    // A set-up that failed halfway leaves nothing behind.
    await net.close().catch(() => undefined);
    throw error;
  }
}
