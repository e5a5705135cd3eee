// The Lotsenhaus hub booted in-process on the real PostgreSQL and NATS JetStream, over gRPC with
// mTLS, with a directory of one referrer and two providers (adults and youth in Andernach). The
// test plays the referrer and the providers: it publishes their events into their streams. One
// start per test file: vitest runs the files in parallel, each with a database, agency ids and
// streams of its own.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { common, dataProtection, events, eventTypeOf, lotsenhaus, oneStop } from '@lotse/contracts';
import { fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { agencySubjects, durableNameFor, type NatsClients } from '@lotse/messaging';
import { subjectOf, type AgencyContext, type RunningAgency } from '@lotse/runtime';
// Telemetry is switched on from outside the service (`node --import`); the fixture registers it
// in-process so that trace ids propagate.
import { shutdownTelemetry, startTelemetry } from '@lotse/telemetry';
import { grpcError, publishEvent, randomId, startTestNetwork, streamEvents, waitFor, type StoredEvent } from '@lotse/testing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { v7 as uuidv7 } from 'uuid';
import { expect } from 'vitest';
import { create, type HubDb } from '../../src/index.js';
import type { OneStopDb } from '../../src/one-stop/index.js';

const { AgeGroup, Purpose } = common;

/** A routing is overdue after this long; the follow-up runs only when a test asks. */
export const followUpAfterMs = 300;

export const newCaseRef = () => `C-${randomBytes(6).toString('hex').toUpperCase()}`;

type ProviderEventType = 'ReferralReceived' | 'ReferralAccepted' | 'FirstContactRecorded' | 'ReferralDeclined';
type ProviderMessage = events.ReferralReceived | events.ReferralAccepted | events.FirstContactRecorded | events.ReferralDeclined;

export type HubUnderTest = Awaited<ReturnType<typeof startHubFixture>>;

interface FixtureIds {
  referrerId: string;
  adultProviderId: string;
  youthProviderId: string;
}

export interface HubFixtureOptions {
  /** The directory, given the fixture's ids; by default Andernach with an adults' and a youth provider. */
  directory?: (ids: FixtureIds) => object;
  /** Streams of further agencies the test plays. */
  streams?: string[];
  database?: string;
  /** Merged into the hub's config last. */
  config?: object;
  now?: () => Date;
}

const andernach = ({ referrerId, adultProviderId, youthProviderId }: FixtureIds) => ({
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

export async function startHubFixture(options: HubFixtureOptions = {}) {
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
    streams: [adultProviderId, youthProviderId, ...(options.streams ?? [])],
  }).catch(async (error) => {
    await shutdownTelemetry();
    throw error;
  });
  net.onClose(() => shutdownTelemetry());
  try {
    const nats: NatsClients = net.nats;
    const directoryFile = net.file('directory.json', (options.directory ?? andernach)({ referrerId, adultProviderId, youthProviderId }));
    const started = await net.agency({
      id: hubId,
      database: options.database ?? 'lotse_hub_test',
      create: (config) =>
        create(
          {
            ...config,
            logLevel: 'silent',
            directoryFile,
            // The follow-up runs only when a test asks (interval 0); a routing is overdue after 300 ms.
            routingFollowUp: { intervalMs: 0, afterMs: followUpAfterMs, maxAttempts: 2 },
            ...options.config,
          },
          { logger: createLogger(hubId, { level: process.env.LOG_LEVEL ?? 'debug' }, logSink), ...(options.now && { now: options.now }) },
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
      /** A client of the hub as `asId` (the hub itself by default). */
      clientOf: started.client,
      /** Plays any agency: one of its events, as its relay would publish it. */
      publish: <T>(producer: string, codec: { encode(m: T): { finish(): Uint8Array } }, message: T, caseRef: string) => publishEvent(nats, { producer, codec, message, caseRef }),
      /** The timeline of a case once `check` holds for it. */
      waitTimelineWhere(caseRef: string, check: (t: lotsenhaus.GetCaseTimelineResponse) => boolean, what: string) {
        return waitFor(async () => {
          const t = await client.getCaseTimeline({ caseRef }).catch(() => undefined);
          return t && check(t) ? t : undefined;
        }, what);
      },
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

export type WorkflowHubUnderTest = Awaited<ReturnType<typeof startWorkflowFixture>>;

/**
 * The hub of the referral workflow: Andernach, Mayen and Mendig with two MBEs and a job centre;
 * Koblenz with providers listing the languages their staff speak; a referral expires 1.5 s after
 * routing; a clock the test moves forward.
 */
export async function startWorkflowFixture() {
  // Koblenz's (k…) ids chosen so that, without the languages, the Arabic-speaking ones win every tie.
  const ids = { mbeA: randomId('mbea'), mbeB: randomId('mbeb'), jcId: randomId('jc'), kArabic: randomId('k1-mbe'), kUkrainian: randomId('k2-mbe'), kUkrainian2: randomId('k3-mbe'), kJcArabic: randomId('k1-jc'), kJcUkrainian: randomId('k2-jc') };
  const { mbeA, mbeB, jcId, kArabic, kUkrainian, kUkrainian2, kJcArabic, kJcUkrainian } = ids;
  const clock = { offsetMs: 0 };
  const around = ['andernach', 'mayen', 'mendig'];
  const hub = await startHubFixture({
    streams: Object.values(ids),
    database: 'lotse_workflow_test',
    directory: ({ referrerId }) => ({
      region: 'Test region',
      municipalities: [...around, 'koblenz'].map((code) => ({ code, name: code[0]!.toUpperCase() + code.slice(1) })),
      agreements: [
        { senderType: 'foreign-office', recipientType: 'migration-services', purposes: ['migration-counselling'] },
        { senderType: 'migration-services', recipientType: 'job-centre', purposes: ['labour-market-integration', 'language-course'] },
      ],
      referrers: [{ agencyId: referrerId, name: 'Test-ABH', agencyType: 'foreign-office' }],
      providers: [
        ...[
          [mbeA, 'MBE A', 'migration-services'],
          [mbeB, 'MBE B', 'migration-services'],
          [jcId, 'Test-Jobcenter', 'job-centre'],
        ].map(([providerId, name, agencyType]) => ({ providerId, name, agencyType, agreements: [{ ageGroups: ['adult'], municipalities: around }] })),
        ...[
          [kArabic, 'migration-services', ['de', 'ar']],
          [kUkrainian, 'migration-services', ['de', 'uk']],
          [kUkrainian2, 'migration-services', ['uk', 'ru']],
          [kJcArabic, 'job-centre', ['de', 'ar']],
          [kJcUkrainian, 'job-centre', ['de', 'uk']],
        ].map(([providerId, agencyType, languages]) => ({ providerId, name: `Koblenz ${providerId}`, agencyType, languages, agreements: [{ ageGroups: ['adult'], municipalities: ['koblenz'] }] })),
      ],
    }),
    config: { referralExpiry: { workingDays: 5, overrideMs: 1500, checkIntervalMs: 100 } },
    now: () => new Date(Date.now() + clock.offsetMs),
  });
  return {
    ...hub,
    foId: hub.referrerId,
    ...ids,
    clock,
    dp: hub.clientOf(dataProtection.DataProtectionServiceClient, hub.referrerId),
    /** Plays the foreign office: a referral consented to migration services and job centres. */
    request: async (municipality: string, overrides: Partial<events.ReferralRequested> = {}) =>
      (await hub.requestReferral({ consentedRecipients: ['migration-services', 'job-centre'], municipality, ...overrides })).message,
    listCases: (req: Partial<lotsenhaus.ListCasesRequest>) => hub.client.listCases(lotsenhaus.ListCasesRequest.fromPartial({ pageSize: 500, ...req })),
  };
}

export const rid = () => `r-${randomBytes(6).toString('hex')}`;

export async function expectViolation(call: Promise<unknown>, code: status, field: string) {
  const error = await grpcError(call);
  expect(error.code, error.details).toBe(code);
  if (code === status.INVALID_ARGUMENT) expect(fieldViolationsOf(error).map((v) => v.field)).toContain(field);
  else expect(error.details).toContain(field);
  return error;
}

export const assessment = (caseRef: string, consentId: string, requestId = rid()) =>
  oneStop.RecordCompetenceAssessmentRequest.fromPartial({
    requestId,
    caseRef,
    consentId,
    qualifications: [{ titleCode: 'ISCO-7411', country: 'SY', recognition: oneStop.RecognitionStatus.RECOGNITION_STATUS_PARTIAL }],
    workExperience: [{ fieldCode: 'ISCO-7411', years: 6 }],
    languages: [{ code: 'ar', level: oneStop.CefrLevel.CEFR_LEVEL_C2 }, { code: 'de', level: oneStop.CefrLevel.CEFR_LEVEL_A2 }],
  });

export type OneStopUnderTest = Awaited<ReturnType<typeof startOneStopFixture>>;

/** The hub with its one-stop desk, in Koblenz with one MBE (the adults' provider); the desk takes calls from the hub itself. */
export async function startOneStopFixture() {
  const hub = await startHubFixture({
    database: 'lotse_one_stop_test',
    directory: ({ referrerId, adultProviderId }) => ({ ...andernach({ referrerId, adultProviderId, youthProviderId: '' }), municipalities: [{ code: 'koblenz', name: 'Stadt Koblenz' }], providers: [{ providerId: adultProviderId, name: 'Test MBE', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult'], municipalities: ['koblenz'] }] }] }),
  });
  const desk = hub.clientOf(oneStop.OneStopServiceClient);
  const db = () => (hub.running.ctx as unknown as AgencyContext<OneStopDb>).db;
  async function counts(caseRef: string) {
    const n = async (table: 'one_stop_intake' | 'one_stop_appointment' | 'one_stop_assessment' | 'one_stop_referral_on' | 'timeline_entry' | 'outbox') =>
      Number((await (db() as any).selectFrom(table).select((eb: any) => eb.fn.countAll().as('n')).where('case_ref', '=', caseRef).executeTakeFirstOrThrow()).n);
    return { intake: await n('one_stop_intake'), appointments: await n('one_stop_appointment'), assessments: await n('one_stop_assessment'), referralsOn: await n('one_stop_referral_on'), timeline: await n('timeline_entry'), outbox: await n('outbox') };
  }
  const walkIn = (caseRef: string, requestId = rid()) =>
    desk.recordIntake({ requestId, caseRef, referralId: '', needs: [oneStop.OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT, oneStop.OfferKind.OFFER_KIND_JOB_PLACEMENT], noteCodes: ['INTERPRETER_AR'] });
  // The desk reads the one case timeline as the hub's own deployment (an outside agency sees only its cases).
  const hubClient = hub.clientOf(lotsenhaus.LotsenhausServiceClient);
  return { ...hub, providerId: hub.adultProviderId, desk, outsider: hub.clientOf(oneStop.OneStopServiceClient, hub.referrerId), hubClient, db, counts, walkIn };
}
