import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { common, events, eventTypeOf, lotsenhaus } from '@lotse/contracts';
import { berlinDate, fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { durableNameFor, agencySubjects, ensureAgencyStream, eventSubject, streamName, type NatsClients } from '@lotse/messaging';
import { subjectOf, type RunningAgency } from '@lotse/runtime';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Telemetry is switched on from outside the service (`node --import`); the test registers it
// in-process so that trace ids propagate.
import { shutdownTelemetry, startTelemetry } from '@lotse/telemetry';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { create, type HubDb } from '../src/index.js';
import {
  grpcError,
  publishEvent,
  randomId,
  sleep,
  startTestNetwork,
  streamEvents,
  waitConsumed,
  waitFor,
  type StoredEvent,
  type TestNetwork,
} from '@lotse/testing';

const { AgeGroup, ReferralStatus, Purpose, ContactChannel } = common;

const hubId = randomId('hub');
const referrerId = randomId('fo');
const adultProviderId = randomId('mbe');
const youthProviderId = randomId('jmd');
const followUpAfterMs = 300;

let net: TestNetwork;
let hub: ReturnType<typeof create>;
let running: RunningAgency<HubDb>;
let nats: NatsClients;
let client: PromiseClient<lotsenhaus.LotsenhausServiceClient>;
const spans = new InMemorySpanExporter();
// Every line the hub logs, down to debug, so a test can check what never goes into a log.
const logLines: string[] = [];
const logSink = {
  write(line: string) {
    logLines.push(line);
    if (process.env.LOG_LEVEL) process.stdout.write(line);
  },
};

beforeAll(async () => {
  startTelemetry({ serviceName: 'test', exporter: spans, simple: true });
  net = await startTestNetwork({
    name: 'hub',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: referrerId, agencyType: 'foreign-office' },
    ],
    streams: [adultProviderId, youthProviderId],
  });
  nats = net.nats;
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
  ({ service: hub, running } = started);
  client = started.client(lotsenhaus.LotsenhausServiceClient, referrerId);
});

afterAll(async () => {
  try {
    await net?.close();
  } finally {
    await shutdownTelemetry();
  }
});

// --- helpers -------------------------------------------------------------------------------------

const newCaseRef = () => `C-${randomBytes(6).toString('hex').toUpperCase()}`;
const hubDurable = (producer: string) => durableNameFor(hubId, agencySubjects(producer));

async function timeline(caseRef: string) {
  try {
    return await client.getCaseTimeline({ caseRef });
  } catch (error) {
    if ((error as { code?: number }).code === status.NOT_FOUND) return undefined;
    throw error;
  }
}

async function waitForTimeline(caseRef: string, minEntries: number, what = `${minEntries} timeline entries of ${caseRef}`) {
  return waitFor(async () => {
    const t = await timeline(caseRef);
    return t && t.entries.length >= minEntries ? t : undefined;
  }, what);
}

async function requestReferral(overrides: Partial<events.ReferralRequested> = {}, traceparent?: string) {
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
  const eventId = await publishEvent(nats, {
    producer: referrerId,
    codec: events.ReferralRequested,
    message,
    caseRef,
    traceparent,
  });
  return { caseRef, referralId: message.referralId, eventId, message };
}

function providerEvent<K extends 'ReferralReceived' | 'ReferralAccepted' | 'FirstContactRecorded' | 'ReferralDeclined'>(
  producer: string,
  eventType: K,
  message: events.ReferralReceived | events.ReferralAccepted | events.FirstContactRecorded | events.ReferralDeclined,
  caseRef: string,
  ids: { eventId?: string; msgId?: string } = {},
) {
  const codec = events[eventType] as { encode(m: typeof message): { finish(): Uint8Array } };
  return publishEvent(nats, { producer, eventType, codec, message, caseRef, ...ids });
}

const ofType = (stored: StoredEvent[], subject: string, referralId: string, decode: (b: Uint8Array) => { referralId: string }) =>
  stored.filter((e) => e.subject === subject).filter((e) => decode(e.envelope.payload).referralId === referralId);

async function statusChanges(referralId: string) {
  const stored = await streamEvents(nats, hubId);
  return ofType(stored, subjectOf(hubId, events.ReferralStatusChanged, referrerId), referralId, events.ReferralStatusChanged.decode).map((e) =>
    events.ReferralStatusChanged.decode(e.envelope.payload),
  );
}

async function routedEvents(referralId: string) {
  const stored = await streamEvents(nats, hubId);
  return stored
    .filter((e) => e.envelope.eventType === eventTypeOf(events.ReferralRouted))
    .filter((e) => events.ReferralRouted.decode(e.envelope.payload).referralId === referralId);
}

// --- tests ---------------------------------------------------------------------------------------

describe('lotsenhaus hub (real PostgreSQL and NATS JetStream)', () => {
  it('routes an adult referral in Andernach to exactly the adult provider, tells the referrer, and keeps the trace on the timeline', async () => {
    const traceId = randomBytes(16).toString('hex');
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const { caseRef, referralId, eventId } = await requestReferral({}, traceparent);

    const t = await waitForTimeline(caseRef, 2);
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted']);
    expect(t.entries[0]!.eventId).toBe(eventId);
    expect(t.entries[0]!.agencyId).toBe(referrerId);
    expect(t.entries[1]!.agencyId).toBe(hubId);
    for (const entry of t.entries) {
      expect(entry.traceId).toBe(traceId);
      expect(entry.referralId).toBe(referralId);
    }
    expect(t.caseSummary).toMatchObject({
      caseRef,
      status: ReferralStatus.REFERRAL_STATUS_PENDING,
      currentAgencyId: adultProviderId,
      referralId,
      municipality: 'andernach',
      ageGroup: AgeGroup.AGE_GROUP_ADULT,
    });

    // The outbox relay publishes after the commit; both events are in the same transaction.
    const changes = await waitFor(async () => {
      const c = await statusChanges(referralId);
      return c.length > 0 ? c : undefined;
    }, 'ReferralStatusChanged to the referrer');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ referralId, caseRef, status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: adultProviderId });

    const routed = await routedEvents(referralId);
    expect(routed.map((e) => e.subject)).toEqual([eventSubject(hubId, 'ReferralRouted', adultProviderId)]);
    expect(routed[0]!.envelope.producerAgencyId).toBe(hubId);
    expect(routed[0]!.envelope.caseRef).toBe(caseRef);
    expect(events.ReferralRouted.decode(routed[0]!.envelope.payload)).toMatchObject({
      referralId,
      caseRef,
      referrerAgencyId: referrerId,
      providerId: adultProviderId,
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      ageGroup: AgeGroup.AGE_GROUP_ADULT,
      routingReason: 'agreement',
    });
    // The trace continues on the hop to the provider.
    expect(routed[0]!.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    // The timeline entry of the routing is the event the provider receives.
    expect(t.entries[1]!.eventId).toBe(routed[0]!.envelope.eventId);
  });

  it('routes a youth referral in Andernach to the youth provider', async () => {
    const { caseRef, referralId } = await requestReferral({ ageGroup: AgeGroup.AGE_GROUP_YOUTH });
    const t = await waitForTimeline(caseRef, 2);
    expect(t.caseSummary?.currentAgencyId).toBe(youthProviderId);
    const routed = await waitFor(async () => {
      const r = await routedEvents(referralId);
      return r.length ? r : undefined;
    }, 'ReferralRouted');
    expect(routed.map((e) => e.subject)).toEqual([eventSubject(hubId, 'ReferralRouted', youthProviderId)]);
  });

  it.each([
    { what: 'consent names no eligible provider', overrides: { consentedRecipients: ['job-centre'] }, note: /consent names none of the providers/ },
    { what: 'no agreement covers the municipality', overrides: { municipality: 'mayen' }, note: /no cooperation agreement covers mayen for AGE_GROUP_ADULT/ },
  ])('marks a referral UNROUTABLE when the $what, tells the referrer why, and routes nothing', async ({ overrides, note }) => {
    const { caseRef, referralId } = await requestReferral(overrides);
    const t = await waitForTimeline(caseRef, 2);
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralUnroutable']);
    expect(t.entries[1]!.summary).toMatch(note);
    expect(t.caseSummary).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_UNROUTABLE, currentAgencyId: referrerId });

    const changes = await waitFor(async () => {
      const c = await statusChanges(referralId);
      return c.length > 0 ? c : undefined;
    }, 'ReferralStatusChanged UNROUTABLE');
    expect(changes).toHaveLength(1);
    expect(changes[0]!.status).toBe(ReferralStatus.REFERRAL_STATUS_UNROUTABLE);
    expect(changes[0]!.providerId).toBe('');
    expect(changes[0]!.note).toMatch(note);
    // Published in the same transaction as the status change, so it would be there by now.
    expect(await routedEvents(referralId)).toEqual([]);
    const referral = await running.ctx.db.selectFrom('hub_referral').selectAll().where('referral_id', '=', referralId).executeTakeFirstOrThrow();
    expect(referral.provider_id).toBeNull();
  });

  it('follows the provider: received, accepted, first contact; drops a redelivered event and ignores a provider the referral was not routed to', async () => {
    const { caseRef, referralId } = await requestReferral();
    await waitForTimeline(caseRef, 2);

    await providerEvent(adultProviderId, 'ReferralReceived', { referralId, caseRef, providerId: adultProviderId }, caseRef);
    let t = await waitForTimeline(caseRef, 3);
    expect(t.entries[2]!.eventType).toBe('ReferralReceived');
    expect(t.caseSummary?.status).toBe(ReferralStatus.REFERRAL_STATUS_PENDING);

    // The youth provider claims the adult provider's referral: no effect on the case.
    const foreignEventId = await providerEvent(
      youthProviderId,
      'ReferralAccepted',
      { referralId, caseRef, providerId: youthProviderId, acceptedAt: new Date() },
      caseRef,
    );
    // … nor may it put its own steps on the case's timeline.
    const foreignDataEventId = await publishEvent(nats, {
      producer: youthProviderId,
      codec: events.NewcomerDataReceived,
      message: events.NewcomerDataReceived.fromPartial({
        referralId,
        caseRef,
        providerId: youthProviderId,
        ownerAgencyId: referrerId,
        categories: [common.DataCategory.DATA_CATEGORY_IDENTITY],
      }),
      caseRef,
    });
    for (const id of [foreignEventId, foreignDataEventId]) {
      await waitFor(
        async () => (await running.ctx.db.selectFrom('applied_event' as any).select('event_id').where('event_id', '=', id).executeTakeFirst()) !== undefined,
        'the hub to consume the foreign provider event',
      );
    }
    t = (await timeline(caseRef))!;
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived']);
    expect(t.entries.some((e) => e.agencyId === youthProviderId)).toBe(false);
    expect(t.caseSummary).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_PENDING, currentAgencyId: adultProviderId });

    const acceptedEventId = await providerEvent(
      adultProviderId,
      'ReferralAccepted',
      { referralId, caseRef, providerId: adultProviderId, acceptedAt: new Date() },
      caseRef,
    );
    t = await waitForTimeline(caseRef, 4);
    expect(t.caseSummary).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, currentAgencyId: adultProviderId });
    const accepted = await client.listCases({ status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, agencyId: '', pageSize: 0, pageToken: '', municipality: '', waitingLongerThanWorkingDays: 0, escalatedOnly: false });
    expect(accepted.cases.map((c) => c.caseRef)).toContain(caseRef);

    // The same event again (a relay that re-published after the broker's duplicate window).
    await providerEvent(
      adultProviderId,
      'ReferralAccepted',
      { referralId, caseRef, providerId: adultProviderId, acceptedAt: new Date() },
      caseRef,
      { eventId: acceptedEventId, msgId: uuidv7() },
    );
    await waitConsumed(nats, adultProviderId, hubDurable(adultProviderId));
    t = (await timeline(caseRef))!;
    expect(t.entries.filter((e) => e.eventId === acceptedEventId)).toHaveLength(1);
    expect(t.entries).toHaveLength(4);

    await providerEvent(
      adultProviderId,
      'FirstContactRecorded',
      { referralId, caseRef, providerId: adultProviderId, contactDate: berlinDate(new Date()), channel: ContactChannel.CONTACT_CHANNEL_IN_PERSON },
      caseRef,
    );
    t = await waitForTimeline(caseRef, 5);
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', 'FirstContactRecorded']);
    expect(t.entries.slice(2).every((e) => e.agencyId === adultProviderId)).toBe(true);
    expect(t.caseSummary?.status).toBe(ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED);

    const started = await client.listCases({ status: ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED, agencyId: '', pageSize: 0, pageToken: '', municipality: '', waitingLongerThanWorkingDays: 0, escalatedOnly: false });
    expect(started.cases.map((c) => c.caseRef)).toEqual([caseRef]);
    const stillAccepted = await client.listCases({ status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, agencyId: '', pageSize: 0, pageToken: '', municipality: '', waitingLongerThanWorkingDays: 0, escalatedOnly: false });
    expect(stillAccepted.cases.map((c) => c.caseRef)).not.toContain(caseRef);

    // The referrer hears each step once: PENDING, ACCEPTED, COUNSELLING_STARTED.
    const changes = await waitFor(async () => {
      const c = await statusChanges(referralId);
      return c.length >= 3 ? c : undefined;
    }, 'three status changes');
    expect(changes.map((c) => c.status)).toEqual([
      ReferralStatus.REFERRAL_STATUS_PENDING,
      ReferralStatus.REFERRAL_STATUS_ACCEPTED,
      ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED,
    ]);
    expect(changes.every((c) => c.providerId === adultProviderId)).toBe(true);
  });

  it('routes on the languages spoken without putting them into span attributes, logs, the timeline or the routing event', async () => {
    // Codes nothing else in a trace or log line contains, so any trace of them is a leak.
    const languages = ['qaa', 'qtz'];
    const logsBefore = logLines.length;
    const { caseRef, referralId } = await requestReferral({ languages });
    const t = await waitForTimeline(caseRef, 2);
    expect(t.caseSummary?.currentAgencyId).toBe(adultProviderId);
    const stored = await running.ctx.db.selectFrom('hub_referral').select('languages').where('referral_id', '=', referralId).executeTakeFirstOrThrow();
    expect(stored.languages).toEqual(languages);
    await waitFor(async () => (await statusChanges(referralId)).length > 0, 'the routing to be published');

    const leaks = (where: string, text: string) => (languages.some((l) => text.includes(l)) || /"languages"/i.test(text) ? [`${where}: ${text}`] : []);
    const found = [
      ...spans.getFinishedSpans().flatMap((span) => [
        ...leaks(`span ${span.name}`, JSON.stringify(span.attributes)),
        ...span.events.flatMap((e) => leaks(`span ${span.name} event ${e.name}`, JSON.stringify(e.attributes ?? {}))),
      ]),
      ...logLines.slice(logsBefore).flatMap((line) => leaks('log', line)),
      ...t.entries.flatMap((e) => leaks(`timeline ${e.eventType}`, e.summary)),
      ...(await routedEvents(referralId)).flatMap((e) => leaks('ReferralRouted', Buffer.from(e.envelope.payload).toString('latin1'))),
    ];
    // The spans of this referral's hops are there (the check looked at something) …
    expect(spans.getFinishedSpans().some((s) => s.spanContext().traceId === t.entries[0]!.traceId)).toBe(true);
    // … and none of it carries the languages.
    expect(found).toEqual([]);
  });

  it('answers GetCaseTimeline with INVALID_ARGUMENT naming case_ref for an empty reference, NOT_FOUND for an unknown one', async () => {
    const invalid = await grpcError(client.getCaseTimeline({ caseRef: '  ' }));
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(invalid).map((v) => v.field)).toEqual(['case_ref']);

    const unknown = await grpcError(client.getCaseTimeline({ caseRef: 'C-NOSUCHCASE' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toContain('case_ref');
  });

  it('parks a malformed message on a provider stream after bounded retries and goes on with the next event', async () => {
    const { caseRef, referralId } = await requestReferral();
    await waitForTimeline(caseRef, 2);

    const malformedSubject = eventSubject(adultProviderId, 'ReferralAccepted');
    await ensureAgencyStream(nats.jsm, adultProviderId);
    await nats.js.publish(malformedSubject, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), { msgID: uuidv7() });
    await providerEvent(adultProviderId, 'ReferralAccepted', { referralId, caseRef, providerId: adultProviderId, acceptedAt: new Date() }, caseRef);

    const t = await waitForTimeline(caseRef, 3, 'the valid event after the malformed one');
    expect(t.caseSummary?.status).toBe(ReferralStatus.REFERRAL_STATUS_ACCEPTED);

    // Default retry delays 200 ms, 1 s, 3 s, 5 s: parked on the 5th delivery, about 9 s later.
    const parked = await waitFor(
      async () => {
        const rows = (await running.ctx.db.selectFrom('parked_message' as any).selectAll().execute()) as any[];
        return rows.length ? rows : undefined;
      },
      'the malformed message to be parked',
      20_000,
    );
    expect(parked).toHaveLength(1);
    expect(parked![0]).toMatchObject({
      consumer: hubId,
      stream: streamName(adultProviderId),
      subject: malformedSubject,
      event_id: null,
      deliveries: 5,
      replayed_at: null,
      discarded_at: null,
    });
    expect(parked![0].error).toMatch(/malformed event/);

    // Terminated, not redelivered: nothing is left for the hub's durable on that stream.
    await waitConsumed(nats, adultProviderId, hubDurable(adultProviderId));
    await sleep(300);
    expect(await running.ctx.db.selectFrom('parked_message' as any).selectAll().execute()).toHaveLength(1);

    // And the consumer still works afterwards.
    await providerEvent(
      adultProviderId,
      'FirstContactRecorded',
      { referralId, caseRef, providerId: adultProviderId, contactDate: berlinDate(new Date()), channel: ContactChannel.CONTACT_CHANNEL_PHONE },
      caseRef,
    );
    const after = await waitFor(async () => {
      const t = await timeline(caseRef);
      return t?.entries.some((e) => e.eventType === 'FirstContactRecorded') ? t : undefined;
    }, 'the first contact after the parked message');
    expect(after.caseSummary?.status).toBe(ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED);
  }, 40_000);
});

describe('WatchTimeline: the timeline as it grows', () => {
  /** Opens a watch and collects what arrives, until cancelled or the hub ends it. */
  function watch(request: Partial<lotsenhaus.WatchTimelineRequest>) {
    const call = client.raw.watchTimeline(lotsenhaus.WatchTimelineRequest.fromPartial(request));
    const got: lotsenhaus.WatchTimelineResponse[] = [];
    call.on('data', (m: lotsenhaus.WatchTimelineResponse) => got.push(m));
    const ended = new Promise<{ code: number; details: string }>((resolve) => {
      call.on('error', (e: any) => resolve({ code: e.code, details: e.details }));
      call.on('end', () => resolve({ code: status.OK, details: '' }));
    });
    const ofCase = (caseRef: string) => got.filter((m) => m.caseRef === caseRef);
    return { call, got, ended, ofCase };
  }

  it('streams each step of a case in order with the case as it stands, only the asked case when filtered, and resumes after a position', async () => {
    const all = watch({});
    const other = watch({ caseRef: newCaseRef() });
    // The watch starts "from now": give the hub a moment to take both in before the steps come.
    await sleep(300);
    const { caseRef, referralId, eventId } = await requestReferral();
    await waitFor(() => (all.ofCase(caseRef).length >= 2 ? true : undefined), 'both steps streamed');

    const steps = all.ofCase(caseRef);
    expect(steps.map((m) => m.entry!.eventType)).toEqual(['ReferralRequested', 'ReferralRouted']);
    expect(steps[0]!.entry!.eventId).toBe(eventId);
    expect(steps[1]!.position).toBeGreaterThan(steps[0]!.position);
    for (const m of steps) expect(m.entry!.referralId).toBe(referralId);
    expect(steps[1]!.caseSummary).toMatchObject({ caseRef, status: ReferralStatus.REFERRAL_STATUS_PENDING, currentAgencyId: adultProviderId });
    // The same steps GetCaseTimeline shows.
    const t = await timeline(caseRef);
    expect(steps.map((m) => m.entry!.eventId)).toEqual(t!.entries.map((e) => e.eventId));
    expect(other.got).toEqual([]);

    // A watcher that resumes after the first step gets the second, recorded before it came.
    const resumed = watch({ afterPosition: steps[0]!.position, caseRef });
    await waitFor(() => (resumed.got.length >= 1 ? true : undefined), 'the step after the position');
    await sleep(300);
    expect(resumed.got.map((m) => m.position)).toEqual([steps[1]!.position]);

    for (const w of [all, other, resumed]) w.call.cancel();
    expect((await all.ended).code).toBe(status.CANCELLED);
  });

  it('refuses a case reference longer than 64 characters with INVALID_ARGUMENT naming case_ref', async () => {
    const w = watch({ caseRef: 'C-'.padEnd(65, 'X') });
    const ended = await w.ended;
    expect(ended.code).toBe(status.INVALID_ARGUMENT);
    expect(ended.details).toContain('case_ref');
    expect(w.got).toEqual([]);
  });
});

// Last in the file: it purges the hub's stream, as a broker that forgot would leave it.
describe('routings no recipient confirmed', () => {
  const routedIds = async (referralId: string) =>
    (await streamEvents(nats, hubId)).filter((e) => e.envelope.eventType === eventTypeOf(events.ReferralRouted) && events.ReferralRouted.decode(e.envelope.payload).referralId === referralId).map((e) => e.envelope.eventId);
  const followUpRow = (referralId: string) => running.ctx.db.selectFrom('routing_follow_up').selectAll().where('referral_id', '=', referralId).executeTakeFirst();

  it('are sent again under their event id until the recipient reports receipt; after the configured sends they count as stuck, waiting on it', async () => {
    const lost = await requestReferral();
    const stuck = await requestReferral();
    const t = await waitForTimeline(lost.caseRef, 2);
    await waitForTimeline(stuck.caseRef, 2);
    const routedEventId = t.entries.find((e) => e.eventType === 'ReferralRouted')!.eventId;
    await waitFor(async () => ((await routedIds(lost.referralId)).length === 1 ? true : undefined), 'the routing relayed');

    await nats.jsm.streams.purge(streamName(hubId));
    expect(await routedIds(lost.referralId)).toEqual([]);
    await sleep(followUpAfterMs + 50);
    expect(await hub.routingFollowUp!.runOnce()).toBeGreaterThanOrEqual(2);
    await waitFor(async () => ((await routedIds(lost.referralId)).length === 1 ? true : undefined), 'the routing sent again');
    expect(await routedIds(lost.referralId)).toEqual([routedEventId]);
    expect(await followUpRow(lost.referralId)).toMatchObject({ routed_event_id: routedEventId, resent_count: 1 });

    // The provider reports it received: confirmed, not sent again.
    await providerEvent(adultProviderId, 'ReferralReceived', { referralId: lost.referralId, caseRef: lost.caseRef, providerId: adultProviderId }, lost.caseRef);
    await waitForTimeline(lost.caseRef, 3, 'the receipt');
    await sleep(followUpAfterMs + 50);
    await hub.routingFollowUp!.runOnce();
    expect((await followUpRow(lost.referralId))!.resent_count).toBe(1);

    // Nobody answers the other: sent again on both passes, then stuck, waiting on the provider.
    expect((await followUpRow(stuck.referralId))!.resent_count).toBe(2);
    await sleep(followUpAfterMs + 50);
    await hub.routingFollowUp!.runOnce();
    expect((await followUpRow(stuck.referralId))!.resent_count).toBe(2);
    const awaiting = await hub.routingFollowUp!.awaiting();
    const atProvider = awaiting.find((a) => a.waitsOn === adultProviderId)!;
    expect(atProvider).toMatchObject({ eventType: 'ReferralRouted' });
    expect(atProvider.stuck).toBeGreaterThanOrEqual(1);
    expect(atProvider.waiting).toBeGreaterThanOrEqual(atProvider.stuck);
  });
});
