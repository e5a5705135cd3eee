// The network the referral-path tests drive: `pnpm start` on the real PostgreSQL and a real
// nats-server (one start per test file), with a short referral expiry, its gRPC clients as the
// agencies' caseworkers, and the helpers the paths share. The bindings are live: a test reads
// them once `useReferralNetwork()`'s beforeAll has run.
import { afterAll, beforeAll } from 'vitest';
import pg from 'pg';
import type { ServiceError } from '@grpc/grpc-js';
import { common, foreignOffice as fo, jobCentre as jc, lotsenhaus as hub, migrationServices as ms, oneStop } from '@lotse/contracts';
import type { PromiseClient } from '@lotse/grpc';
import { retrying, waitFor, type NetworkOnPostgres, type RunningNetwork, startNetworkOnPostgres } from '../../src/network-process.js';

export const { ReferralStatus: S, Purpose, DataCategory, DeclineReason, ReferralType } = common;
export const { InboxStatus } = ms;
export const { IntakeStatus } = jc;
export const { OneStopReferralStatus, OfferKind } = oneStop;

/** gRPC status codes the refusals must carry. */
export const INVALID_ARGUMENT = 3;
export const FAILED_PRECONDITION = 9;

// Short enough that the expiry test waits seconds, not working days; passed through the launcher
// to the hub like any other variable of a deployment.
export const expiryMs = 5_000;

export let setup: NetworkOnPostgres;
export let network: RunningNetwork;
export let foreignOffice: PromiseClient<fo.ForeignOfficeServiceClient>;
export let hubClient: PromiseClient<hub.LotsenhausServiceClient>;
export let desk: PromiseClient<oneStop.OneStopServiceClient>;
export const providers = new Map<string, PromiseClient<ms.MigrationServicesServiceClient>>();
export const jobCentres = new Map<string, PromiseClient<jc.JobCentreServiceClient>>();
/** Provider and agency names as the hub's directory has them (its timeline uses them). */
export const names = new Map<string, string>();

export function useReferralNetwork(): void {
  beforeAll(start, 300_000);
  afterAll(stop, 60_000);
}

async function start(): Promise<void> {
  setup = await startNetworkOnPostgres({ REFERRAL_EXPIRY_MS: String(expiryMs), REFERRAL_EXPIRY_CHECK_MS: '250' });
  network = setup.network;
  foreignOffice = network.client(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
  hubClient = network.client(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
  desk = network.client(oneStop.OneStopServiceClient, 'lotsenhaus');
  for (const id of ['caritas-koblenz', 'caritas-rhein-mosel-ahr', 'awo-rheinland']) providers.set(id, network.client(ms.MigrationServicesServiceClient, id));
  for (const id of ['jobcenter-mayen-koblenz', 'jobcenter-koblenz']) jobCentres.set(id, network.client(jc.JobCentreServiceClient, id));
  for (const p of (await retrying(() => hubClient.listProviders({}))).providers) names.set(p.providerId, p.name);
}

async function stop(): Promise<void> {
  for (const client of [foreignOffice, hubClient, desk, ...providers.values(), ...jobCentres.values()]) client?.close();
  await setup?.remove();
}

export const provider = (id: string) => providers.get(id)!;
export const jobCentre = (id: string) => jobCentres.get(id)!;

/** Registers a newcomer at the foreign office and records the consent the path needs. */
export async function newcomerWithConsent(
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

export async function requestCounselling(key: string, newcomerId: string, preferredProviderId = '') {
  const { referral } = await foreignOffice.requestReferral({ requestId: `rp-ref-${key}`, newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId });
  return referral!;
}

/**
 * The case's steps in order. The network runs with a short expiry (for the expiry test), so on a
 * slow machine an escalation may slip in while another path waits on a provider; those paths
 * leave escalations out of the order they check.
 */
export const steps = (t: hub.GetCaseTimelineResponse) => t.entries.filter((e) => e.eventType !== 'ReferralEscalated');
export const typesOf = (t: hub.GetCaseTimelineResponse) => steps(t).map((e) => e.eventType);

/** Polls the hub's timeline of a case until the check holds; says what it last saw if it never does. */
export async function timelineWhen(caseRef: string, check: (t: hub.GetCaseTimelineResponse) => boolean, what: string, timeoutMs = 20_000) {
  let last: hub.GetCaseTimelineResponse | undefined;
  try {
    await waitFor(async () => check((last = await hubClient.getCaseTimeline({ caseRef }))), timeoutMs, what);
  } catch (error) {
    const seen = last ? last.entries.map((e) => `${e.eventType}@${e.agencyId}: ${e.summary}`).join('\n  ') : '(no timeline)';
    throw new Error(`${(error as Error).message}; the timeline held:\n  ${seen}`);
  }
  return last!;
}

export const inboxOf = async (providerId: string, referralId: string) =>
  (await provider(providerId).listReferrals({ status: 0, pageSize: 500, pageToken: '' })).referrals.find((r) => r.referralId === referralId);
export const intakeOf = async (jobCentreId: string, referralId: string) =>
  (await jobCentre(jobCentreId).listReferrals({ status: 0, pageSize: 500, pageToken: '' })).referrals.find((r) => r.referralId === referralId);
export const atForeignOffice = async (newcomerId: string, referralId: string) =>
  (await foreignOffice.listReferrals({ newcomerId, status: 0, pageSize: 0, pageToken: '' })).referrals.find((r) => r.referralId === referralId);

/** The refusal a call ends in (it must end in one). */
export async function refusal(call: Promise<unknown>): Promise<ServiceError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: ServiceError) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

/** Runs a query on one deployment's own database, as an operator with database access would. */
export async function count(deployment: string, sql: string, params: unknown[]): Promise<number> {
  const db = new pg.Client({ connectionString: setup.databaseUrl(deployment) });
  await db.connect();
  try {
    return (await db.query<{ n: number }>(sql, params)).rows[0]!.n;
  } finally {
    await db.end();
  }
}

/** A counselling referral routed and accepted at the provider the hub chose; returns where it went. */
export async function acceptedCounselling(key: string, newcomerId: string, caseRef: string) {
  const referral = await requestCounselling(key, newcomerId);
  const t = await timelineWhen(caseRef, (x) => x.entries.some((e) => e.eventType === 'ReferralReceived'), 'the provider to receive the referral');
  const providerId = t.entries.find((e) => e.eventType === 'ReferralReceived')!.agencyId;
  await provider(providerId).acceptReferral({ requestId: `rp-accept-${key}`, referralId: referral.referralId });
  return { referralId: referral.referralId, providerId };
}

