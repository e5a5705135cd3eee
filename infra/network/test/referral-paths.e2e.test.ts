// End to end: the referral workflow's other paths, on the network started as the README says
// (`pnpm start`, here on the real PostgreSQL and a real nats-server), driven over gRPC the way
// caseworkers drive it — a provider declines and the hub re-routes; the sender withdraws a
// referral (pending and accepted) or the newcomer's consent; nobody answers and the hub escalates;
// a provider without capacity is skipped; a provider refers on to the Lotsenhaus one-stop desk;
// and a referral no cooperation agreement allows is refused at the sender, writing nothing. Each
// path is checked on the hub's case timeline and case list and in the agencies' own state.
// One network start for the whole file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { ServiceError } from '@grpc/grpc-js';
import { common, foreignOffice as fo, jobCentre as jc, lotsenhaus as hub, migrationServices as ms, oneStop } from '@lotse/contracts';
import { fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { retrying, waitFor, type NetworkOnPostgres, type RunningNetwork, startNetworkOnPostgres } from '../src/network-process.js';

const { ReferralStatus: S, Purpose, DataCategory, DeclineReason, ReferralType } = common;
const { InboxStatus } = ms;
const { IntakeStatus } = jc;
const { OneStopReferralStatus, OfferKind } = oneStop;

/** gRPC status codes the refusals must carry. */
const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;

// Short enough that the expiry test waits seconds, not working days; passed through the launcher
// to the hub like any other variable of a deployment.
const expiryMs = 5_000;

let setup: NetworkOnPostgres;
let network: RunningNetwork;
let foreignOffice: PromiseClient<fo.ForeignOfficeServiceClient>;
let hubClient: PromiseClient<hub.LotsenhausServiceClient>;
let desk: PromiseClient<oneStop.OneStopServiceClient>;
const providers = new Map<string, PromiseClient<ms.MigrationServicesServiceClient>>();
const jobCentres = new Map<string, PromiseClient<jc.JobCentreServiceClient>>();
/** Provider and agency names as the hub's directory has them (its timeline uses them). */
const names = new Map<string, string>();

beforeAll(async () => {
  setup = await startNetworkOnPostgres({ REFERRAL_EXPIRY_MS: String(expiryMs), REFERRAL_EXPIRY_CHECK_MS: '250' });
  network = setup.network;
  foreignOffice = network.client(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
  hubClient = network.client(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
  desk = network.client(oneStop.OneStopServiceClient, 'lotsenhaus');
  for (const id of ['caritas-koblenz', 'caritas-rhein-mosel-ahr', 'awo-rheinland']) providers.set(id, network.client(ms.MigrationServicesServiceClient, id));
  for (const id of ['jobcenter-mayen-koblenz', 'jobcenter-koblenz']) jobCentres.set(id, network.client(jc.JobCentreServiceClient, id));
  for (const p of (await retrying(() => hubClient.listProviders({}))).providers) names.set(p.providerId, p.name);
}, 300_000);

afterAll(async () => {
  for (const client of [foreignOffice, hubClient, desk, ...providers.values(), ...jobCentres.values()]) client?.close();
  await setup?.remove();
}, 60_000);

const provider = (id: string) => providers.get(id)!;
const jobCentre = (id: string) => jobCentres.get(id)!;

/** Registers a newcomer at the foreign office and records the consent the path needs. */
async function newcomerWithConsent(
  key: string,
  person: { municipality: string },
  consent: { recipients: string[]; purposes: common.Purpose[] } = { recipients: ['migration-services'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING] },
) {
  const { newcomer } = await retrying(() =>
    foreignOffice.registerNewcomer({
      requestId: `rp-reg-${key}`,
      givenNames: 'Samir',
      familyName: 'Haddad',
      birthDate: '1984-03-09', // an adult: MBE, not the youth migration service
      nationality: 'SY',
      languages: ['ar', 'de'],
      municipality: person.municipality,
      residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
    }),
  );
  const { consent: recorded } = await foreignOffice.recordConsent({
    requestId: `rp-consent-${key}`,
    newcomerId: newcomer!.newcomerId,
    recipients: consent.recipients,
    purposes: consent.purposes,
    dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
    textVersion: 'mbe-einwilligung-2026-01',
    language: 'ar',
    interpreterUsed: true,
    expiresAt: undefined,
  });
  return { newcomerId: newcomer!.newcomerId, caseRef: newcomer!.caseRef, consentId: recorded!.consentId };
}

async function requestCounselling(key: string, newcomerId: string, preferredProviderId = '') {
  const { referral } = await foreignOffice.requestReferral({ requestId: `rp-ref-${key}`, newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId });
  return referral!;
}

/**
 * The case's steps in order. The network runs with a short expiry (for the expiry test), so on a
 * slow machine an escalation may slip in while another path waits on a provider; those paths
 * leave escalations out of the order they check.
 */
const steps = (t: hub.GetCaseTimelineResponse) => t.entries.filter((e) => e.eventType !== 'ReferralEscalated');
const typesOf = (t: hub.GetCaseTimelineResponse) => steps(t).map((e) => e.eventType);

/** Polls the hub's timeline of a case until the check holds; says what it last saw if it never does. */
async function timelineWhen(caseRef: string, check: (t: hub.GetCaseTimelineResponse) => boolean, what: string, timeoutMs = 20_000) {
  let last: hub.GetCaseTimelineResponse | undefined;
  try {
    await waitFor(async () => check((last = await hubClient.getCaseTimeline({ caseRef }))), timeoutMs, what);
  } catch (error) {
    const seen = last ? last.entries.map((e) => `${e.eventType}@${e.agencyId}: ${e.summary}`).join('\n  ') : '(no timeline)';
    throw new Error(`${(error as Error).message}; the timeline held:\n  ${seen}`);
  }
  return last!;
}

const inboxOf = async (providerId: string, referralId: string) =>
  (await provider(providerId).listReferrals({ status: 0, pageSize: 500, pageToken: '' })).referrals.find((r) => r.referralId === referralId);
const intakeOf = async (jobCentreId: string, referralId: string) =>
  (await jobCentre(jobCentreId).listReferrals({ status: 0, pageSize: 500, pageToken: '' })).referrals.find((r) => r.referralId === referralId);
const atForeignOffice = async (newcomerId: string, referralId: string) =>
  (await foreignOffice.listReferrals({ newcomerId, status: 0, pageSize: 0, pageToken: '' })).referrals.find((r) => r.referralId === referralId);

/** The refusal a call ends in (it must end in one). */
async function refusal(call: Promise<unknown>): Promise<ServiceError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: ServiceError) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

/** Runs a query on one deployment's own database, as an operator with database access would. */
async function count(deployment: string, sql: string, params: unknown[]): Promise<number> {
  const db = new pg.Client({ connectionString: setup.databaseUrl(deployment) });
  await db.connect();
  try {
    return (await db.query<{ n: number }>(sql, params)).rows[0]!.n;
  } finally {
    await db.end();
  }
}

/** A counselling referral routed and accepted at the provider the hub chose; returns where it went. */
async function acceptedCounselling(key: string, newcomerId: string, caseRef: string) {
  const referral = await requestCounselling(key, newcomerId);
  const t = await timelineWhen(caseRef, (x) => x.entries.some((e) => e.eventType === 'ReferralReceived'), 'the provider to receive the referral');
  const providerId = t.entries.find((e) => e.eventType === 'ReferralReceived')!.agencyId;
  await provider(providerId).acceptReferral({ requestId: `rp-accept-${key}`, referralId: referral.referralId });
  return { referralId: referral.referralId, providerId };
}

describe('referral paths through the running network', () => {
  it('a decline with a coded reason is confirmed by the hub and re-routed to the next suitable provider, which accepts', async () => {
    // Adults in Koblenz: two providers' agreements cover them (Caritas Koblenz, AWO Rheinland).
    const koblenzAdults = ['awo-rheinland', 'caritas-koblenz'];
    const person = await newcomerWithConsent('decline', { municipality: 'koblenz' });
    const referral = await requestCounselling('decline', person.newcomerId);

    const routed = await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived'), 'the first provider to receive the referral');
    const first = routed.entries.find((e) => e.eventType === 'ReferralReceived')!.agencyId;
    expect(koblenzAdults).toContain(first);
    const other = koblenzAdults.find((p) => p !== first)!;
    expect((await inboxOf(first, referral.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_PENDING);

    const { referral: declined } = await provider(first).declineReferral({ requestId: 'rp-decline', referralId: referral.referralId, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
    expect(declined).toMatchObject({ status: InboxStatus.INBOX_STATUS_DECLINED, declineReason: DeclineReason.DECLINE_REASON_NO_CAPACITY });

    const rerouted = await timelineWhen(person.caseRef, (t) => steps(t).filter((e) => e.eventType === 'ReferralReceived').length === 2, 'the re-routed referral to arrive at the next provider');
    expect(typesOf(rerouted)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralDeclined', 'ReferralRouted', 'ReferralReceived']);
    const [, , , decline, reroute, received] = steps(rerouted);
    expect(decline).toMatchObject({ agencyId: first, referralId: referral.referralId, summary: `Declined by ${names.get(first)}: DECLINE_REASON_NO_CAPACITY` });
    expect(reroute).toMatchObject({ agencyId: 'lotsenhaus', summary: `Decline confirmed; re-routed to ${names.get(other)} (cooperation agreement)` });
    expect(received!.agencyId).toBe(other);
    expect(rerouted.caseSummary).toMatchObject({ status: S.REFERRAL_STATUS_PENDING, currentAgencyId: other, referralId: referral.referralId });

    // The provider that declined keeps its decision and cannot take the referral back.
    expect(await inboxOf(first, referral.referralId)).toMatchObject({ status: InboxStatus.INBOX_STATUS_DECLINED, declineReason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
    expect((await refusal(provider(first).acceptReferral({ requestId: 'rp-decline-late-accept', referralId: referral.referralId }))).code).toBe(FAILED_PRECONDITION);
    // The foreign office follows the re-routing.
    await waitFor(async () => (await atForeignOffice(person.newcomerId, referral.referralId))?.providerId === other, 15_000, 'the foreign office to see the new provider');
    expect((await atForeignOffice(person.newcomerId, referral.referralId))!.status).toBe(S.REFERRAL_STATUS_PENDING);

    // The next provider accepts.
    expect((await inboxOf(other, referral.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_PENDING);
    await provider(other).acceptReferral({ requestId: 'rp-decline-accept', referralId: referral.referralId });
    const accepted = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the acceptance at the hub');
    expect(steps(accepted).at(-1)).toMatchObject({ eventType: 'ReferralAccepted', agencyId: other });
    expect(accepted.caseSummary!.currentAgencyId).toBe(other);
    await waitFor(async () => (await atForeignOffice(person.newcomerId, referral.referralId))?.status === S.REFERRAL_STATUS_ACCEPTED, 15_000, 'the foreign office to see the acceptance');
    expect((await atForeignOffice(person.newcomerId, referral.referralId))!.providerId).toBe(other);
  });

  it('skips a provider without free counselling slots, says so on the timeline, and routes to it again once it has capacity', async () => {
    const full = 'caritas-koblenz';
    const capacityOf = async (id: string) => (await hubClient.listProviders({})).providers.find((p) => p.providerId === id)!.capacity;
    expect(await provider(full).setCapacity({ requestId: 'rp-capacity-0', freeCounsellingSlots: 0 })).toEqual({ freeCounsellingSlots: 0 });
    try {
      await waitFor(async () => (await capacityOf(full))[0]?.free === 0, 15_000, 'the hub to learn the provider is full');
      expect(await capacityOf(full)).toEqual([expect.objectContaining({ kind: common.CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, free: 0 })]);

      // The newcomer chose the full provider: without capacity it is skipped, the other Koblenz provider takes it.
      const person = await newcomerWithConsent('capacity', { municipality: 'koblenz' });
      const referral = await requestCounselling('capacity', person.newcomerId, full);
      const t = await timelineWhen(person.caseRef, (x) => x.entries.some((e) => e.eventType === 'ReferralReceived'), 'routing past the full provider');
      expect(typesOf(t)).toEqual(['ReferralRequested', 'ProviderSkipped', 'ReferralRouted', 'ReferralReceived']);
      expect(steps(t)[1]).toMatchObject({ agencyId: 'lotsenhaus', referralId: referral.referralId, summary: `Skipped ${full}: no free counselling slots` });
      expect(steps(t)[2]!.summary).toBe(`Routed to ${names.get('awo-rheinland')} (cooperation agreement)`);
      expect(t.caseSummary).toMatchObject({ status: S.REFERRAL_STATUS_PENDING, currentAgencyId: 'awo-rheinland' });
      expect((await inboxOf('awo-rheinland', referral.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_PENDING);
      expect(await inboxOf(full, referral.referralId)).toBeUndefined();
      await provider('awo-rheinland').acceptReferral({ requestId: 'rp-capacity-accept', referralId: referral.referralId });
    } finally {
      // Restored whatever happened above: the other paths route to this provider too.
      await provider(full).setCapacity({ requestId: 'rp-capacity-restore', freeCounsellingSlots: 10 });
      await waitFor(async () => (await capacityOf(full))[0]?.free === 10, 15_000, 'the hub to learn the provider has capacity again');
    }

    // With slots again, the newcomer's choice is honoured and nothing is skipped.
    const again = await newcomerWithConsent('capacity-again', { municipality: 'koblenz' });
    const referral = await requestCounselling('capacity-again', again.newcomerId, full);
    const t = await timelineWhen(again.caseRef, (x) => x.entries.some((e) => e.eventType === 'ReferralReceived'), 'routing to the chosen provider');
    expect(typesOf(t)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived']);
    expect(steps(t)[1]!.summary).toBe(`Routed to ${names.get(full)} (newcomer's choice)`);
    expect(t.caseSummary!.currentAgencyId).toBe(full);
    await provider(full).acceptReferral({ requestId: 'rp-capacity-again-accept', referralId: referral.referralId });
  });

  it('the sender withdraws a referral it made, pending and accepted: the hub closes it, the recipient inbox shows it closed, a later accept is refused', async () => {
    const person = await newcomerWithConsent(
      'withdraw',
      { municipality: 'mayen' },
      { recipients: ['migration-services', 'job-centre'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING, Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION] },
    );
    const counselling = await acceptedCounselling('withdraw', person.newcomerId, person.caseRef);
    expect(counselling.providerId).toBe('caritas-rhein-mosel-ahr'); // adults in Mayen
    const mbe = provider(counselling.providerId);
    const jcId = 'jobcenter-mayen-koblenz';
    const onward = (key: string) =>
      mbe.requestReferral({
        requestId: `rp-onward-${key}`,
        referralId: counselling.referralId,
        caseRef: '',
        purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
        type: ReferralType.REFERRAL_TYPE_REFERRAL,
        recipientType: 'job-centre',
      });

    // 1. Withdrawn while pending at the job centre.
    const { referral: pending } = await onward('pending');
    await waitFor(async () => (await intakeOf(jcId, pending!.referralId))?.status === IntakeStatus.INTAKE_STATUS_PENDING, 15_000, 'the job centre to receive the onward referral');
    await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived' && e.referralId === pending!.referralId), 'the hub to hear the job centre received it');
    const { referral: withdrawn } = await mbe.withdrawReferral({ requestId: 'rp-withdraw-pending', referralId: pending!.referralId });
    expect(withdrawn).toMatchObject({ referralId: pending!.referralId, status: S.REFERRAL_STATUS_WITHDRAWN, recipientType: 'job-centre' });

    const closed = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN, 'the withdrawal at the hub');
    expect(closed.caseSummary).toMatchObject({ referralId: pending!.referralId, currentAgencyId: counselling.providerId, escalated: false });
    expect(steps(closed).at(-1)).toMatchObject({
      eventType: 'ReferralWithdrawnByReferrer',
      agencyId: counselling.providerId,
      referralId: pending!.referralId,
      summary: `Referral withdrawn by ${names.get(counselling.providerId)}`,
    });
    await waitFor(async () => (await intakeOf(jcId, pending!.referralId))?.status === IntakeStatus.INTAKE_STATUS_WITHDRAWN, 15_000, "the job centre's intake to show it withdrawn");
    expect((await refusal(jobCentre(jcId).acceptReferral({ requestId: 'rp-jc-accept-withdrawn', referralId: pending!.referralId }))).code).toBe(FAILED_PRECONDITION);
    // Withdrawn once; a second withdrawal is refused, and the counselling referral it came from stays open.
    expect((await refusal(mbe.withdrawReferral({ requestId: 'rp-withdraw-pending-again', referralId: pending!.referralId }))).code).toBe(FAILED_PRECONDITION);
    expect((await inboxOf(counselling.providerId, counselling.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_ACCEPTED);

    // 2. Withdrawn after the job centre accepted it.
    const { referral: second } = await onward('accepted');
    await waitFor(async () => (await intakeOf(jcId, second!.referralId))?.status === IntakeStatus.INTAKE_STATUS_PENDING, 15_000, 'the job centre to receive the second onward referral');
    await jobCentre(jcId).acceptReferral({ requestId: 'rp-jc-accept', referralId: second!.referralId });
    await timelineWhen(person.caseRef, (t) => t.caseSummary!.referralId === second!.referralId && t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the acceptance at the hub');
    await mbe.withdrawReferral({ requestId: 'rp-withdraw-accepted', referralId: second!.referralId });
    const closedAfterAccept = await timelineWhen(
      person.caseRef,
      (t) => t.caseSummary!.referralId === second!.referralId && t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN,
      'the withdrawal of the accepted referral at the hub',
    );
    expect(typesOf(closedAfterAccept)).toEqual([
      ...['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted'], // counselling, from the foreign office
      ...['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralWithdrawnByReferrer'], // on to the job centre, withdrawn pending
      ...['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', 'ReferralWithdrawnByReferrer'], // again, withdrawn accepted
    ]);
    expect(steps(closedAfterAccept).at(-1)).toMatchObject({ eventType: 'ReferralWithdrawnByReferrer', referralId: second!.referralId });
    await waitFor(async () => (await intakeOf(jcId, second!.referralId))?.status === IntakeStatus.INTAKE_STATUS_WITHDRAWN, 15_000, "the job centre's intake to show the accepted referral withdrawn");
    // Closed at the job centre: nothing more is done under it.
    expect((await refusal(jobCentre(jcId).fetchNewcomerData({ requestId: 'rp-jc-fetch-withdrawn', referralId: second!.referralId }))).code).toBe(FAILED_PRECONDITION);
    expect((await refusal(jobCentre(jcId).acceptReferral({ requestId: 'rp-jc-accept-again', referralId: second!.referralId }))).code).toBe(FAILED_PRECONDITION);
  });

  it('the newcomer revokes consent at the foreign office while a referral is pending: closed at the hub and in the inbox, a later accept is refused', async () => {
    const person = await newcomerWithConsent('revoke', { municipality: 'andernach' });
    const referral = await requestCounselling('revoke', person.newcomerId);
    const routed = await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived'), 'the provider to receive the referral');
    const providerId = routed.entries.find((e) => e.eventType === 'ReferralReceived')!.agencyId;
    expect(providerId).toBe('caritas-rhein-mosel-ahr'); // adults in Andernach

    await foreignOffice.withdrawConsent({ requestId: 'rp-revoke', consentId: person.consentId, newcomerId: '', reason: '' });
    const closed = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN && t.entries.some((e) => e.eventType === 'ConsentWithdrawn'), 'the withdrawal at the hub');
    expect(closed.entries.find((e) => e.eventType === 'ConsentWithdrawn')).toMatchObject({ agencyId: 'kv-mayen-koblenz', summary: expect.stringContaining('1 referral(s) closed') });
    await waitFor(async () => (await inboxOf(providerId, referral.referralId))?.status === InboxStatus.INBOX_STATUS_WITHDRAWN, 15_000, "the provider's inbox to show it withdrawn");
    expect((await refusal(provider(providerId).acceptReferral({ requestId: 'rp-revoke-accept', referralId: referral.referralId }))).code).toBe(FAILED_PRECONDITION);
    expect((await atForeignOffice(person.newcomerId, referral.referralId))!.status).toBe(S.REFERRAL_STATUS_WITHDRAWN);
  });

  it('a referral nobody answers expires after the configured time and is escalated, in the case list and on the timeline', async () => {
    const person = await newcomerWithConsent('expire', { municipality: 'pellenz' });
    const referral = await requestCounselling('expire', person.newcomerId);
    const routed = await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived'), 'the provider to receive the referral');
    const providerId = routed.entries.find((e) => e.eventType === 'ReferralReceived')!.agencyId;
    const routedAt = routed.entries.find((e) => e.eventType === 'ReferralRouted')!.occurredAt!;

    const escalated = await timelineWhen(person.caseRef, (t) => t.caseSummary!.escalated, 'the hub to escalate the unanswered referral', expiryMs + 20_000);
    const step = escalated.entries.find((e) => e.eventType === 'ReferralEscalated')!;
    expect(step).toMatchObject({ agencyId: 'lotsenhaus', referralId: referral.referralId, summary: `Referral expired: not answered by ${names.get(providerId)} in time; escalated to the coordination` });
    // Not before the configured time.
    expect(step.occurredAt!.getTime() - routedAt.getTime()).toBeGreaterThanOrEqual(expiryMs);
    // Still waiting on the provider: escalated, not closed.
    expect(escalated.caseSummary).toMatchObject({ status: S.REFERRAL_STATUS_PENDING, currentAgencyId: providerId, escalated: true });
    expect((await inboxOf(providerId, referral.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_PENDING);

    // The case list: the filter finds it, and holds exactly the escalated cases.
    const all = (await hubClient.listCases(hub.ListCasesRequest.fromPartial({ pageSize: 500 }))).cases;
    const onlyEscalated = (await hubClient.listCases(hub.ListCasesRequest.fromPartial({ escalatedOnly: true, pageSize: 500 }))).cases;
    expect(onlyEscalated.map((c) => c.caseRef)).toContain(person.caseRef);
    expect(onlyEscalated.map((c) => c.caseRef).sort()).toEqual(all.filter((c) => c.escalated).map((c) => c.caseRef).sort());
    expect(all.some((c) => !c.escalated)).toBe(true);
    const mine = (await hubClient.listCases(hub.ListCasesRequest.fromPartial({ escalatedOnly: true, status: S.REFERRAL_STATUS_PENDING, agencyId: providerId, municipality: 'pellenz' }))).cases;
    expect(mine.find((c) => c.caseRef === person.caseRef)).toMatchObject({ escalated: true, referralId: referral.referralId });
    // Escalated once, however often the hub checks.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await hubClient.getCaseTimeline({ caseRef: person.caseRef })).entries.filter((e) => e.eventType === 'ReferralEscalated')).toHaveLength(1);

    // A late answer is still taken; answered, the case no longer counts as escalated (the step stays on the timeline).
    await provider(providerId).acceptReferral({ requestId: 'rp-expire-late-accept', referralId: referral.referralId });
    const accepted = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the late acceptance at the hub');
    expect(accepted.caseSummary!.escalated).toBe(false);
    expect(accepted.entries.filter((e) => e.eventType === 'ReferralEscalated')).toHaveLength(1);
  });

  it('a migration service refers on to the Lotsenhaus one-stop desk, which takes the case in and assesses competences, on the hub timeline', async () => {
    const { agreements } = await hubClient.listAgreements({});
    expect(agreements.find((a) => a.senderType === 'migration-services' && a.recipientType === 'lotsenhaus')?.purposes).toContain(Purpose.PURPOSE_COMPETENCE_ASSESSMENT);

    const person = await newcomerWithConsent(
      'desk',
      { municipality: 'andernach' },
      // The foreign office records consents only for purposes it may disclose data for; the
      // Lotsenhaus is named as a recipient, and the hub routes to it by that.
      { recipients: ['migration-services', 'lotsenhaus'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING] },
    );
    const counselling = await acceptedCounselling('desk', person.newcomerId, person.caseRef);
    const mbe = provider(counselling.providerId);
    const toDesk = async (key: string) =>
      (
        await mbe.requestReferral({
          requestId: `rp-desk-${key}`,
          referralId: counselling.referralId,
          caseRef: '',
          purpose: Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
          type: ReferralType.REFERRAL_TYPE_REFERRAL,
          recipientType: 'lotsenhaus',
        })
      ).referral!;
    const atDesk = async (referralId: string) => (await desk.listOneStopReferrals({ status: 0 })).referrals.find((r) => r.referralId === referralId);

    // Withdrawn by its sender before the newcomer came to the desk: the desk cannot take it in.
    const early = await toDesk('withdrawn');
    await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived' && e.referralId === early.referralId), 'the hub to route the first referral to the desk');
    await waitFor(async () => (await atDesk(early.referralId)) !== undefined, 15_000, 'the desk to receive the first referral');
    await mbe.withdrawReferral({ requestId: 'rp-desk-withdraw', referralId: early.referralId });
    await timelineWhen(person.caseRef, (t) => t.caseSummary!.referralId === early.referralId && t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN, 'the withdrawal at the hub');
    const refused = await refusal(desk.recordIntake({ requestId: 'rp-desk-intake-withdrawn', caseRef: person.caseRef, referralId: early.referralId, needs: [OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT], noteCodes: [] }));
    expect(refused.code).toBe(FAILED_PRECONDITION);
    expect(refused.details).toContain('withdrawn by its referrer');
    // The desk's list shows it withdrawn, not waiting.
    await waitFor(async () => (await atDesk(early.referralId))?.status === OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_WITHDRAWN, 15_000, 'the desk to close the withdrawn referral');
    const waiting = (await desk.listOneStopReferrals({ status: OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_PENDING })).referrals;
    expect(waiting.map((r) => r.referralId)).not.toContain(early.referralId);
    expect((await hubClient.getCaseTimeline({ caseRef: person.caseRef })).caseSummary!.status).toBe(S.REFERRAL_STATUS_WITHDRAWN);

    // Referred again: routed to the desk, taken in, competences assessed.
    const referral = await toDesk('assessment');
    await waitFor(async () => (await atDesk(referral.referralId))?.status === OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_PENDING, 15_000, 'the desk to receive the referral');
    expect(await atDesk(referral.referralId)).toMatchObject({ caseRef: person.caseRef, referrerAgencyId: counselling.providerId, purpose: Purpose.PURPOSE_COMPETENCE_ASSESSMENT });
    const pending = await timelineWhen(person.caseRef, (t) => t.caseSummary!.referralId === referral.referralId && t.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'the referral pending at the desk');
    expect(pending.caseSummary!.currentAgencyId).toBe('lotsenhaus');

    const { intake } = await desk.recordIntake({ requestId: 'rp-desk-intake', caseRef: person.caseRef, referralId: referral.referralId, needs: [OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT], noteCodes: ['INTERPRETER_AR'] });
    expect(intake).toMatchObject({ caseRef: person.caseRef, referralId: referral.referralId });
    const { assessment } = await desk.recordCompetenceAssessment({
      requestId: 'rp-desk-assessment',
      caseRef: person.caseRef,
      consentId: person.consentId,
      qualifications: [{ titleCode: 'ISCO-7411', country: 'SY', recognition: oneStop.RecognitionStatus.RECOGNITION_STATUS_PENDING }],
      workExperience: [{ fieldCode: 'ISCO-7411', years: 6 }],
      languages: [
        { code: 'ar', level: oneStop.CefrLevel.CEFR_LEVEL_C2 },
        { code: 'de', level: oneStop.CefrLevel.CEFR_LEVEL_A2 },
      ],
    });
    expect((await desk.getCompetenceAssessment({ caseRef: person.caseRef })).assessment!.assessmentId).toBe(assessment!.assessmentId);
    expect((await atDesk(referral.referralId))?.status).toBe(OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_ACCEPTED);

    const done = await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'CompetenceAssessed') && t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the desk steps on the hub timeline');
    const deskSteps = steps(done).filter((e) => e.referralId === referral.referralId || e.eventType === 'CompetenceAssessed');
    expect(deskSteps.map((e) => [e.eventType, e.agencyId])).toEqual([
      ['ReferralRequested', counselling.providerId],
      ['ReferralRouted', 'lotsenhaus'],
      ['ReferralReceived', 'lotsenhaus'],
      ['ReferralAccepted', 'lotsenhaus'],
      ['IntakeRecorded', 'lotsenhaus'],
      ['CompetenceAssessed', 'lotsenhaus'],
    ]);
    expect(deskSteps[1]!.summary).toBe(`Routed to ${names.get('lotsenhaus')} (cooperation agreement)`);
    // The withdrawn one was never taken in.
    expect(steps(done).filter((e) => e.referralId === early.referralId).map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralWithdrawnByReferrer']);
    expect(done.caseSummary).toMatchObject({ referralId: referral.referralId, currentAgencyId: 'lotsenhaus', status: S.REFERRAL_STATUS_ACCEPTED });
  });

  it('refuses a referral between agency types no cooperation agreement connects, naming the field, and writes nothing', async () => {
    const person = await newcomerWithConsent(
      'no-agreement',
      { municipality: 'koblenz' },
      { recipients: ['migration-services', 'job-centre', 'lotsenhaus'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING, Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION] },
    );
    const counselling = await acceptedCounselling('no-agreement', person.newcomerId, person.caseRef);
    const mbe = provider(counselling.providerId);
    const before = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the acceptance at the hub');
    const fieldsOf = (error: ServiceError) => fieldViolationsOf(error).map((v) => v.field);
    const bad = (recipientType: string, purpose: common.Purpose, requestId: string) =>
      refusal(mbe.requestReferral({ requestId, referralId: counselling.referralId, caseRef: '', purpose, type: ReferralType.REFERRAL_TYPE_REFERRAL, recipientType }));

    // Migration services to migration services: no agreement at all.
    const sideways = await bad('migration-services', Purpose.PURPOSE_MIGRATION_COUNSELLING, 'rp-bad-sideways');
    expect(sideways.code).toBe(INVALID_ARGUMENT);
    expect(fieldsOf(sideways)).toEqual(['recipient_type']);
    expect(sideways.details).toContain('no cooperation agreement lets migration-services refer to migration-services');
    // Migration services to the Lotsenhaus: agreed, but not for labour-market integration.
    const wrongPurpose = await bad('lotsenhaus', Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, 'rp-bad-purpose');
    expect(wrongPurpose.code).toBe(INVALID_ARGUMENT);
    expect(fieldsOf(wrongPurpose)).toEqual(['recipient_type']);
    // A job centre to migration services: no agreement.
    const fromJc = await refusal(
      jobCentre('jobcenter-koblenz').requestReferral(
        jc.RequestReferralRequest.fromPartial({ requestId: 'rp-bad-jc', caseRef: person.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, type: ReferralType.REFERRAL_TYPE_REFERRAL, recipientType: 'migration-services' }),
      ),
    );
    expect(fromJc.code).toBe(INVALID_ARGUMENT);
    expect(fieldsOf(fromJc)).toEqual(['recipient_type']);
    // The foreign office refers to migration counselling only.
    const fromFo = await refusal(foreignOffice.requestReferral({ requestId: 'rp-bad-fo', newcomerId: person.newcomerId, purpose: Purpose.PURPOSE_JOB_PLACEMENT, consentId: '', preferredProviderId: '' }));
    expect(fromFo.code).toBe(INVALID_ARGUMENT);
    expect(fieldsOf(fromFo)).toEqual(['purpose']);

    // Nothing written: no referral, no event at any sender; the hub saw nothing new.
    expect(await count(counselling.providerId, 'select count(*)::int as n from outgoing_referral where case_ref = $1', [person.caseRef])).toBe(0);
    expect(await count(counselling.providerId, "select count(*)::int as n from outbox where case_ref = $1 and event_type = 'ReferralRequested'", [person.caseRef])).toBe(0);
    expect(await count('jobcenter-koblenz', 'select count(*)::int as n from outgoing_referral where case_ref = $1', [person.caseRef])).toBe(0);
    expect(await count('jobcenter-koblenz', 'select count(*)::int as n from outbox where case_ref = $1', [person.caseRef])).toBe(0);
    expect(await count('kv-mayen-koblenz', 'select count(*)::int as n from referral where newcomer_id = $1', [person.newcomerId])).toBe(1);
    expect(await count('lotsenhaus', 'select count(*)::int as n from hub_referral where case_ref = $1', [person.caseRef])).toBe(1);
    const after = await hubClient.getCaseTimeline({ caseRef: person.caseRef });
    expect(after.entries.map((e) => e.eventId)).toEqual(before.entries.map((e) => e.eventId));
  });
});
