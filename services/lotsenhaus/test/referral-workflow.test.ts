// The referral workflow at the hub, against the real PostgreSQL and NATS: a decline is confirmed
// and re-routed (never to a provider that declined), a provider without capacity is skipped, the
// referrer withdraws, an unanswered referral escalates, a provider refers on to a job centre
// whose steps appear on the timeline, and the case list filters. In Koblenz the providers list the
// languages their staff speak: the hub routes by the newcomer's languages, first and on every
// re-route and onward referral, and erases them with the consent.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { common, dataProtection, events, eventTypeOf, jobCentreEvents, lotsenhaus } from '@lotse/contracts';
import type { PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { eventSubject, type NatsClients } from '@lotse/messaging';
import type { RunningAgency } from '@lotse/runtime';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, type HubDb } from '../src/index.js';
import { publishEvent, randomId, startTestNetwork, streamEvents, waitFor, type TestNetwork } from '@lotse/testing';

const { AgeGroup, ReferralStatus: S, Purpose, DeclineReason, CapacityKind } = common;

const hubId = randomId('hub');
const foId = randomId('fo');
const mbeA = randomId('mbea');
const mbeB = randomId('mbeb');
const jcId = randomId('jc');
// Koblenz only. Ids chosen so that, without the languages, the Arabic-speaking ones win every tie.
const kArabic = randomId('k1-mbe');
const kUkrainian = randomId('k2-mbe');
const kUkrainian2 = randomId('k3-mbe');
const kJcArabic = randomId('k1-jc');
const kJcUkrainian = randomId('k2-jc');
const streams = [hubId, foId, mbeA, mbeB, jcId, kArabic, kUkrainian, kUkrainian2, kJcArabic, kJcUkrainian];

let net: TestNetwork;
let running: RunningAgency<HubDb>;
let nats: NatsClients;
let client: PromiseClient<lotsenhaus.LotsenhausServiceClient>;
let dp: PromiseClient<dataProtection.DataProtectionServiceClient>;
let clockOffsetMs = 0;

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'workflow',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: foId, agencyType: 'foreign-office' },
    ],
    streams,
  });
  nats = net.nats;
  const directoryFile = join(net.dir, 'directory.json');
  writeFileSync(
    directoryFile,
    JSON.stringify({
      region: 'Test region',
      municipalities: [
        { code: 'andernach', name: 'Andernach' },
        { code: 'mayen', name: 'Mayen' },
        { code: 'mendig', name: 'Mendig' },
        { code: 'koblenz', name: 'Koblenz' },
      ],
      agreements: [
        { senderType: 'foreign-office', recipientType: 'migration-services', purposes: ['migration-counselling'] },
        { senderType: 'migration-services', recipientType: 'job-centre', purposes: ['labour-market-integration', 'language-course'] },
      ],
      referrers: [{ agencyId: foId, name: 'Test-ABH', agencyType: 'foreign-office' }],
      providers: [
        { providerId: mbeA, name: 'MBE A', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult'], municipalities: ['andernach', 'mayen', 'mendig'] }] },
        { providerId: mbeB, name: 'MBE B', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult'], municipalities: ['andernach', 'mayen', 'mendig'] }] },
        { providerId: jcId, name: 'Test-Jobcenter', agencyType: 'job-centre', agreements: [{ ageGroups: ['adult'], municipalities: ['andernach', 'mayen', 'mendig'] }] },
        ...[
          [kArabic, 'migration-services', ['de', 'ar']],
          [kUkrainian, 'migration-services', ['de', 'uk']],
          [kUkrainian2, 'migration-services', ['uk', 'ru']],
          [kJcArabic, 'job-centre', ['de', 'ar']],
          [kJcUkrainian, 'job-centre', ['de', 'uk']],
        ].map(([providerId, agencyType, languages]) => ({ providerId, name: `Koblenz ${providerId}`, agencyType, languages, agreements: [{ ageGroups: ['adult'], municipalities: ['koblenz'] }] })),
      ],
    }),
  );
  const started = await net.agency({
    id: hubId,
    database: 'lotse_workflow_test',
    create: (config) =>
      create(
        { ...config, logLevel: 'silent', directoryFile, referralExpiry: { workingDays: 5, overrideMs: 1500, checkIntervalMs: 100 } },
        { logger: createLogger(hubId, { level: process.env.LOG_LEVEL ?? 'silent' }), now: () => new Date(Date.now() + clockOffsetMs) },
      ),
  });
  running = started.running;
  client = started.client(lotsenhaus.LotsenhausServiceClient, foId);
  dp = started.client(dataProtection.DataProtectionServiceClient, foId);
});

afterAll(() => net?.close());

const newCaseRef = () => `C-${randomBytes(6).toString('hex').toUpperCase()}`;
const publish = <T>(producer: string, codec: { encode(m: T): { finish(): Uint8Array } }, message: T, caseRef: string) =>
  publishEvent(nats, { producer, codec, message, caseRef });

async function request(municipality: string, overrides: Partial<events.ReferralRequested> = {}) {
  const caseRef = overrides.caseRef ?? newCaseRef();
  const message = events.ReferralRequested.fromPartial({
    referralId: uuidv7(),
    caseRef,
    referrerAgencyId: foId,
    purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
    consentId: uuidv7(),
    consentedRecipients: ['migration-services', 'job-centre'],
    municipality,
    ageGroup: AgeGroup.AGE_GROUP_ADULT,
    requestedAt: new Date(),
    ...overrides,
  });
  await publish(message.referrerAgencyId, events.ReferralRequested, message, caseRef);
  return message;
}

const timeline = (caseRef: string) => client.getCaseTimeline({ caseRef });
const waitTimeline = (caseRef: string, check: (t: lotsenhaus.GetCaseTimelineResponse) => boolean, what: string) =>
  waitFor(async () => {
    const t = await timeline(caseRef).catch(() => undefined);
    return t && check(t) ? t : undefined;
  }, what);
const listCases = (req: Partial<lotsenhaus.ListCasesRequest>) => client.listCases(lotsenhaus.ListCasesRequest.fromPartial({ pageSize: 500, ...req }));

describe('the referral workflow at the hub', () => {
  it('lists the cooperation agreements', async () => {
    const { agreements } = await client.listAgreements({});
    expect(agreements).toContainEqual({ senderType: 'migration-services', recipientType: 'job-centre', purposes: [Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, Purpose.PURPOSE_LANGUAGE_COURSE] });
  });

  it('confirms a decline and re-routes to the next provider, never back; none left → unroutable', async () => {
    const msg = await request('andernach');
    const first = await waitTimeline(msg.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const firstProvider = first.caseSummary!.currentAgencyId;
    const other = firstProvider === mbeA ? mbeB : mbeA;
    await publish(firstProvider, events.ReferralDeclined, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: firstProvider, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY, declinedAt: new Date() }, msg.caseRef);
    const rerouted = await waitTimeline(msg.caseRef, (t) => t.caseSummary!.currentAgencyId === other, 're-routing');
    expect(rerouted.caseSummary!.status).toBe(S.REFERRAL_STATUS_PENDING);
    expect(rerouted.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralDeclined', 'ReferralRouted']);
    expect(rerouted.entries[3]!.summary).toMatch(/^Decline confirmed; re-routed to MBE/);
    // The re-route commits with its outbox row; the relay publishes it a moment later.
    const routedOf = async () => (await streamEvents(nats, hubId)).filter((e) => e.envelope.eventType === eventTypeOf(events.ReferralRouted) && events.ReferralRouted.decode(e.envelope.payload).referralId === msg.referralId);
    const routed = await waitFor(async () => {
      const found = await routedOf();
      return found.length >= 2 ? found : undefined;
    }, 'both ReferralRouted on the stream');
    expect(routed.map((e) => e.subject)).toEqual([eventSubject(hubId, 'ReferralRouted', firstProvider), eventSubject(hubId, 'ReferralRouted', other)]);
    // A late decline from the first provider changes nothing; the second declines too → unroutable.
    await publish(other, events.ReferralDeclined, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: other, reason: DeclineReason.DECLINE_REASON_OTHER, declinedAt: new Date() }, msg.caseRef);
    const done = await waitTimeline(msg.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_UNROUTABLE, 'unroutable');
    expect(done.entries.at(-1)!.summary).toMatch(/every provider .* has declined/);
  });

  it('skips a provider without free counselling slots, and the timeline says so', async () => {
    await publish(mbeA, events.CapacityChanged, { providerId: mbeA, kind: CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, free: 0, changedAt: new Date() }, '');
    await waitFor(async () => (await client.listProviders({})).providers.find((p) => p.providerId === mbeA)?.capacity[0]?.free === 0, 'capacity to arrive');
    for (let i = 0; i < 2; i++) {
      const msg = await request('mayen');
      const t = await waitTimeline(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
      expect(t.caseSummary!.currentAgencyId).toBe(mbeB);
      expect(t.entries.map((e) => e.summary)).toContain(`Skipped ${mbeA}: no free counselling slots`);
    }
    await publish(mbeA, events.CapacityChanged, { providerId: mbeA, kind: CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, free: 3, changedAt: new Date() }, '');
    await waitFor(async () => (await client.listProviders({})).providers.find((p) => p.providerId === mbeA)?.capacity[0]?.free === 3, 'capacity to return');
  });

  it('closes a referral its referrer withdraws, and tells the provider', async () => {
    const msg = await request('mendig');
    const t = await waitTimeline(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const provider = t.caseSummary!.currentAgencyId;
    await publish(foId, events.ReferralWithdrawnByReferrer, { referralId: msg.referralId, caseRef: msg.caseRef, referrerAgencyId: foId, withdrawnAt: new Date() }, msg.caseRef);
    const closed = await waitTimeline(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN, 'withdrawal');
    expect(closed.entries.at(-1)!.summary).toBe('Referral withdrawn by Test-ABH');
    const withdrawn = await waitFor(async () => {
      const found = (await streamEvents(nats, hubId)).filter((e) => e.subject === eventSubject(hubId, 'ReferralWithdrawn', provider));
      return found.map((e) => events.ReferralWithdrawn.decode(e.envelope.payload)).find((w) => w.referralId === msg.referralId);
    }, 'ReferralWithdrawn to the provider');
    expect(withdrawn.consentId).toBe('');
  });

  it('refers on from a provider to the job centre, shows the job centre steps, and refuses a pair no agreement connects', async () => {
    const msg = await request('andernach');
    const t = await waitTimeline(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const provider = t.caseSummary!.currentAgencyId;
    await publish(provider, events.ReferralAccepted, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: provider, acceptedAt: new Date() }, msg.caseRef);
    const onward = events.ReferralRequested.fromPartial({
      referralId: uuidv7(),
      caseRef: msg.caseRef,
      referrerAgencyId: provider,
      purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
      consentId: msg.consentId,
      requestedAt: new Date(),
      type: common.ReferralType.REFERRAL_TYPE_REFERRAL,
      recipientType: 'job-centre',
      ownerAgencyId: foId,
      sourceReferralId: msg.referralId,
    });
    await publish(provider, events.ReferralRequested, onward, msg.caseRef);
    const atJc = await waitTimeline(msg.caseRef, (x) => x.caseSummary!.currentAgencyId === jcId, 'routing to the job centre');
    expect(atJc.caseSummary).toMatchObject({ referralId: onward.referralId, municipality: 'andernach', status: S.REFERRAL_STATUS_PENDING });
    const routed = await waitFor(async () => {
      const found = (await streamEvents(nats, hubId)).filter((e) => e.subject === eventSubject(hubId, 'ReferralRouted', jcId));
      return found.map((e) => events.ReferralRouted.decode(e.envelope.payload)).find((r) => r.referralId === onward.referralId);
    }, 'ReferralRouted to the job centre');
    expect(routed).toMatchObject({ ownerAgencyId: foId, referrerAgencyId: provider, ageGroup: AgeGroup.AGE_GROUP_ADULT });

    await publish(jcId, events.ReferralAccepted, { referralId: onward.referralId, caseRef: msg.caseRef, providerId: jcId, acceptedAt: new Date() }, msg.caseRef);
    await publish(jcId, jobCentreEvents.CustomerRegistered, { caseRef: msg.caseRef, jobCentreId: jcId, customerId: 'cu-1', referralId: onward.referralId, registeredAt: new Date() }, msg.caseRef);
    await publish(jcId, jobCentreEvents.PlacementRecorded, { caseRef: msg.caseRef, jobCentreId: jcId, customerId: 'cu-1', placementId: 'p-1', type: 3, startDate: '2026-12-01', endDate: '', recordedAt: new Date() }, msg.caseRef);
    await publish(jcId, events.ReferralCompleted, { referralId: onward.referralId, caseRef: msg.caseRef, providerId: jcId, outcome: common.ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED, completedAt: new Date() }, msg.caseRef);
    const done = await waitTimeline(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_COMPLETED, 'completion');
    expect(done.entries.map((e) => e.eventType).slice(-6)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralAccepted', 'CustomerRegistered', 'PlacementRecorded', 'ReferralCompleted']);
    expect(done.entries.at(-2)!.summary).toBe('Placement recorded: job from 2026-12-01');

    // The job centre may not refer to migration services: no agreement connects them.
    const refused = events.ReferralRequested.fromPartial({ ...onward, referralId: uuidv7(), referrerAgencyId: jcId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, recipientType: 'migration-services' });
    await publish(jcId, events.ReferralRequested, refused, msg.caseRef);
    const unroutable = await waitTimeline(msg.caseRef, (x) => x.caseSummary!.referralId === refused.referralId && x.caseSummary!.status === S.REFERRAL_STATUS_UNROUTABLE, 'refusal');
    expect(unroutable.entries.at(-1)!.summary).toMatch(/no cooperation agreement lets job-centre refer to migration-services/);
  });

  it('escalates a referral not answered in time, visibly in the case list and on the timeline', async () => {
    const msg = await request('mayen');
    await waitTimeline(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const t = await waitTimeline(msg.caseRef, (x) => x.caseSummary!.escalated, 'escalation');
    expect(t.entries.at(-1)).toMatchObject({ eventType: 'ReferralEscalated' });
    expect(t.entries.at(-1)!.summary).toMatch(/^Referral expired: not answered by MBE . in time; escalated/);
    const { cases } = await listCases({ escalatedOnly: true });
    expect(cases.map((c) => c.caseRef)).toContain(msg.caseRef);
    expect(cases.every((c) => c.escalated)).toBe(true);
  });

  it('filters the case list by status, agency, municipality and waiting time in working days', async () => {
    const msg = await request('mendig');
    const t = await waitTimeline(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const mine = (r: lotsenhaus.ListCasesResponse) => r.cases.map((c) => c.caseRef).includes(msg.caseRef);
    expect(mine(await listCases({ status: S.REFERRAL_STATUS_PENDING, municipality: 'mendig', agencyId: t.caseSummary!.currentAgencyId }))).toBe(true);
    expect(mine(await listCases({ municipality: 'mayen' }))).toBe(false);
    expect(mine(await listCases({ waitingLongerThanWorkingDays: 5 }))).toBe(false);
    clockOffsetMs = 8 * 86_400_000; // eight calendar days later: at least five working days
    expect(mine(await listCases({ status: S.REFERRAL_STATUS_PENDING, waitingLongerThanWorkingDays: 5 }))).toBe(true);
    expect(mine(await listCases({ waitingLongerThanWorkingDays: 7 }))).toBe(false);
    clockOffsetMs = 0;
    await expect(listCases({ waitingLongerThanWorkingDays: 1000 })).rejects.toMatchObject({ code: 3 });
  });
});

describe('routing by the languages the newcomer speaks', () => {
  const { DataCategory } = common;
  const languagesOf = async (referralId: string) =>
    (await running.ctx.db.selectFrom('hub_referral').select('languages').where('referral_id', '=', referralId).executeTakeFirstOrThrow()).languages;
  const pendingAt = (caseRef: string, referralId: string, what: string) =>
    waitTimeline(caseRef, (t) => t.caseSummary!.referralId === referralId && t.caseSummary!.status === S.REFERRAL_STATUS_PENDING, what);
  const decline = (provider: string, msg: events.ReferralRequested) =>
    publish(provider, events.ReferralDeclined, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: provider, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY, declinedAt: new Date() }, msg.caseRef);

  const withdrawByReferrer = async (msg: events.ReferralRequested) => {
    await publish(foId, events.ReferralWithdrawnByReferrer, { referralId: msg.referralId, caseRef: msg.caseRef, referrerAgencyId: foId, withdrawnAt: new Date() }, msg.caseRef);
    await waitTimeline(msg.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN, 'the referral closed');
  };

  it('routes a newcomer speaking uk to staff who speak uk rather than to a provider whose staff do not, also on re-routing', async () => {
    // Without languages (no consent to them), nothing waiting anywhere: the tie goes by id, to the Arabic-speaking provider.
    const plain = await request('koblenz');
    expect((await pendingAt(plain.caseRef, plain.referralId, 'routing without languages')).caseSummary!.currentAgencyId).toBe(kArabic);
    expect(await languagesOf(plain.referralId)).toEqual([]);
    await withdrawByReferrer(plain);

    const msg = await request('koblenz', { languages: ['uk'] });
    const first = await pendingAt(msg.caseRef, msg.referralId, 'routing');
    expect(first.caseSummary!.currentAgencyId).toBe(kUkrainian);
    expect(await languagesOf(msg.referralId)).toEqual(['uk']);
    // The timeline (readable by every agency of the network) keeps to municipality and age group.
    expect(first.entries[0]!.summary).toBe('Referral to migration counselling requested (koblenz, AGE_GROUP_ADULT)');

    // Declined: re-routed to the other provider whose staff speak uk, not to the Arabic-speaking one.
    await decline(kUkrainian, msg);
    const rerouted = await waitTimeline(msg.caseRef, (t) => t.caseSummary!.currentAgencyId !== kUkrainian && t.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 're-routing');
    expect(rerouted.caseSummary!.currentAgencyId).toBe(kUkrainian2);

    // Declined there too: no uk-speaking provider is left, so the one left takes it rather than nobody.
    await decline(kUkrainian2, msg);
    const last = await waitTimeline(msg.caseRef, (t) => t.caseSummary!.currentAgencyId === kArabic, 'the last re-routing');
    expect(last.caseSummary!.status).toBe(S.REFERRAL_STATUS_PENDING);
    await withdrawByReferrer(msg);
  });

  it('reuses the languages it holds for the case when a provider refers on, and erases them when the consent is withdrawn', async () => {
    const msg = await request('koblenz', { languages: ['uk', 'ru'] });
    const t = await pendingAt(msg.caseRef, msg.referralId, 'routing');
    const provider = t.caseSummary!.currentAgencyId;
    expect([kUkrainian, kUkrainian2]).toContain(provider);
    await publish(provider, events.ReferralAccepted, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: provider, acceptedAt: new Date() }, msg.caseRef);

    // Refer-on: the provider sends the case reference and the consent, no routing facts, no languages.
    const onward = events.ReferralRequested.fromPartial({
      referralId: uuidv7(),
      caseRef: msg.caseRef,
      referrerAgencyId: provider,
      purpose: Purpose.PURPOSE_LANGUAGE_COURSE,
      consentId: msg.consentId,
      requestedAt: new Date(),
      recipientType: 'job-centre',
      ownerAgencyId: foId,
      sourceReferralId: msg.referralId,
    });
    expect(onward.languages).toEqual([]);
    await publish(provider, events.ReferralRequested, onward, msg.caseRef);
    const atJc = await pendingAt(msg.caseRef, onward.referralId, 'routing to a job centre');
    // By id alone the Arabic-speaking job centre would get it; the languages held for the case decide.
    expect(atJc.caseSummary!.currentAgencyId).toBe(kJcUkrainian);
    expect(await languagesOf(onward.referralId)).toEqual(['uk', 'ru']);

    // The hub's report of what it holds (Art. 15) names the languages with the routing facts.
    const routingFacts = [DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP];
    const before = await dp.getDataSubjectReport({ caseRef: msg.caseRef });
    expect(before.holdings.map((h) => [h.record, h.categories, h.legalBasis])).toEqual([
      ['routing_facts', routingFacts, `consent:${msg.consentId}`],
      ['routing_facts', routingFacts, `consent:${msg.consentId}`],
    ]);

    // The owner records the withdrawal of the consent: the hub erases the languages with the other routing facts.
    await publish(foId, events.ConsentWithdrawn, { consentId: msg.consentId, caseRef: msg.caseRef, withdrawnAt: new Date(), recipientsKnown: [], receivedByAgencyId: foId, withdrawnReferralIds: [] }, msg.caseRef);
    await waitTimeline(msg.caseRef, (x) => x.entries.some((e) => e.eventType === 'ConsentWithdrawn'), 'the withdrawal');
    const rows = await running.ctx.db.selectFrom('hub_referral').select(['referral_id', 'languages', 'municipality', 'age_group']).where('case_ref', '=', msg.caseRef).orderBy('referral_id').execute();
    expect(rows).toEqual(
      [msg.referralId, onward.referralId].sort().map((referral_id) => ({ referral_id, languages: [], municipality: '', age_group: 0 })),
    );
    const after = await dp.getDataSubjectReport({ caseRef: msg.caseRef });
    expect(after.holdings).toEqual([]);
    const own = (await client.listErasures({ status: 0, caseRef: msg.caseRef, pageSize: 0, pageToken: '' })).erasures.find((e) => e.recipientAgencyId === hubId);
    expect(own?.erasedCategories).toEqual(routingFacts);
    const erased = await running.ctx.db.selectFrom('audit_log' as any).selectAll().where('subject_ref', '=', msg.caseRef).where('action', '=', 'erase').execute();
    expect(erased.map((r: any) => r.categories)).toEqual([routingFacts]);
    // A later onward referral under the withdrawn consent is closed on arrival and finds nothing to reuse.
    const late = events.ReferralRequested.fromPartial({ ...onward, referralId: uuidv7(), requestedAt: new Date() });
    await publish(provider, events.ReferralRequested, late, msg.caseRef);
    await waitFor(async () => (await running.ctx.db.selectFrom('hub_referral').select('referral_id').where('referral_id', '=', late.referralId).executeTakeFirst()) !== undefined, 'the late referral');
    expect(await languagesOf(late.referralId)).toEqual([]);
  });
});
