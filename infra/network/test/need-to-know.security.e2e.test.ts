// Security, end to end: need to know, tried as a hostile but certified agency would, against the
// network started as the README says (`pnpm start`, here on the real PostgreSQL and a real
// nats-server). A provider holds a real certificate of the network and uses it against the hub
// and the foreign office directly, not through its own service:
// - harvest: list the network's cases at the hub, then ask the foreign office for the names
//   behind every case reference;
// - withdraw a consent it is no party to;
// - keep reading after its referral was closed, or after it declined and the hub re-routed.
// Each attack worked on the code before need to know was enforced; each must now be refused,
// and the foreign office's own database must show no disclosure it should not have made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { ServiceError } from '@grpc/grpc-js';
import { common, foreignOffice as fo, lotsenhaus as hub, migrationServices as ms } from '@lotse/contracts';
import type { PromiseClient } from '@lotse/grpc';
import { retrying, waitFor, type NetworkOnPostgres, type RunningNetwork, startNetworkOnPostgres } from '../src/network-process.js';

const { ReferralStatus: S, Purpose, DataCategory, DeclineReason, ReferralOutcome } = common;
const PERMISSION_DENIED = 7;
const UNAVAILABLE = 14;

const foId = 'kv-mayen-koblenz';
const hostileId = 'caritas-koblenz';
const otherId = 'caritas-rhein-mosel-ahr';
const thirdId = 'awo-rheinland';
/** A municipality whose adults each provider's cooperation agreement covers (the hub routes there). */
const areaOf: Record<string, string> = { [hostileId]: 'koblenz', [otherId]: 'andernach', [thirdId]: 'koblenz' };

let setup: NetworkOnPostgres;
let network: RunningNetwork;
let office: PromiseClient<fo.ForeignOfficeServiceClient>;
let hubAsOffice: PromiseClient<hub.LotsenhausServiceClient>;
/** The hostile provider's certificate, used directly at the hub and at the foreign office. */
let hubAsHostile: PromiseClient<hub.LotsenhausServiceClient>;
let officeAsHostile: PromiseClient<fo.ForeignOfficeServiceClient>;
const providers = new Map<string, PromiseClient<ms.MigrationServicesServiceClient>>();
const officeAs = new Map<string, PromiseClient<fo.ForeignOfficeServiceClient>>();

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
  network = setup.network;
  office = network.client(fo.ForeignOfficeServiceClient, foId);
  hubAsOffice = network.client(hub.LotsenhausServiceClient, 'lotsenhaus', foId);
  hubAsHostile = network.client(hub.LotsenhausServiceClient, 'lotsenhaus', hostileId);
  officeAsHostile = network.client(fo.ForeignOfficeServiceClient, foId, hostileId);
  for (const id of [hostileId, otherId, thirdId]) {
    providers.set(id, network.client(ms.MigrationServicesServiceClient, id));
    officeAs.set(id, network.client(fo.ForeignOfficeServiceClient, foId, id));
  }
}, 300_000);

afterAll(async () => {
  for (const client of [office, hubAsOffice, hubAsHostile, officeAsHostile, ...providers.values(), ...officeAs.values()]) client?.close();
  await setup?.remove();
}, 60_000);

const provider = (id: string) => providers.get(id)!;
const codeOf = (call: Promise<unknown>) => call.then(() => 0, (e: ServiceError) => e.code);

/** The foreign office's own disclosure register, read from its database. */
async function disclosures(caseRefs: string[]) {
  const db = new pg.Client({ connectionString: setup.databaseUrl(foId) });
  await db.connect();
  try {
    const { rows } = await db.query<{ case_ref: string; caller_agency_id: string; outcome: string }>(
      'select case_ref, caller_agency_id, outcome from data_access_log where case_ref = any($1) order by id',
      [caseRefs],
    );
    return rows;
  } finally {
    await db.end();
  }
}

/** Where the hub says the referral of a case stands (read with the foreign office's certificate). */
async function atHub(caseRef: string) {
  return (await hubAsOffice.getCaseTimeline({ caseRef })).caseSummary!;
}

/** Eventually refused: the office hears of a close or a re-routing one hop after the hub. */
async function refusedSoon(call: () => Promise<unknown>, what: string) {
  await waitFor(async () => (await codeOf(call())) === PERMISSION_DENIED, 15_000, `${what} to be refused`);
}

/** A newcomer with a consent for migration counselling (naming the agency type) and a referral to `to`. */
async function referredTo(key: string, to: string) {
  const { newcomer } = await retrying(() =>
    office.registerNewcomer({
      requestId: `ntk-reg-${key}`,
      givenNames: 'Rania',
      familyName: `Nasser${key}`,
      birthDate: '1986-02-11',
      nationality: 'SY',
      languages: ['ar'],
      municipality: areaOf[to]!,
      residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
    }),
  );
  const { consent } = await office.recordConsent({
    requestId: `ntk-consent-${key}`,
    newcomerId: newcomer!.newcomerId,
    recipients: ['migration-services'],
    purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
    dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
    textVersion: 'mbe-einwilligung-2026-01',
    language: 'ar',
    interpreterUsed: false,
    expiresAt: undefined,
  });
  const { referral } = await office.requestReferral({ requestId: `ntk-ref-${key}`, newcomerId: newcomer!.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: to });
  const caseRef = newcomer!.caseRef;
  const referralId = referral!.referralId;
  await waitFor(async () => {
    const c = await atHub(caseRef).catch(() => undefined);
    return c?.referralId === referralId && c.status === S.REFERRAL_STATUS_PENDING && c.currentAgencyId === to;
  }, 30_000, `referral ${referralId} routed to ${to}`);
  await waitFor(async () => (await provider(to).listReferrals({ status: 0, pageSize: 0, pageToken: '' })).referrals.some((r) => r.referralId === referralId), 30_000, `referral ${referralId} at ${to}`);
  return { caseRef, referralId, consentId: consent!.consentId, familyName: `Nasser${key}` };
}

async function accept(to: string, caseRef: string, referralId: string) {
  await provider(to).acceptReferral({ requestId: `ntk-accept-${referralId}`, referralId });
  await waitFor(async () => (await atHub(caseRef)).status === S.REFERRAL_STATUS_ACCEPTED, 30_000, `the acceptance of ${referralId} at the hub`);
}

describe('need to know, against a hostile provider with a valid certificate', () => {
  let mine: Awaited<ReturnType<typeof referredTo>>;
  let theirs: Awaited<ReturnType<typeof referredTo>>[];

  beforeAll(async () => {
    mine = await referredTo('mine', hostileId);
    theirs = [await referredTo('theirs1', otherId), await referredTo('theirs2', thirdId), await referredTo('theirs3', otherId)];
  }, 120_000);

  it('harvest: the hub lists it only its own cases, and the office gives it no name of a case that is not with it', async () => {
    const listed = (await hubAsHostile.listCases({ status: 0, agencyId: '', municipality: '', waitingLongerThanWorkingDays: 0, escalatedOnly: false, pageSize: 500, pageToken: '' })).cases.map((c) => c.caseRef);
    expect(listed).toContain(mine.caseRef);
    for (const t of theirs) expect(listed).not.toContain(t.caseRef);
    // The office, which referred them all, sees them all.
    const all = (await hubAsOffice.listCases({ status: 0, agencyId: '', municipality: '', waitingLongerThanWorkingDays: 0, escalatedOnly: false, pageSize: 500, pageToken: '' })).cases.map((c) => c.caseRef);
    for (const t of [mine, ...theirs]) expect(all).toContain(t.caseRef);
    // Nor its timeline, nor a watch of the whole network.
    expect(await codeOf(hubAsHostile.getCaseTimeline({ caseRef: theirs[0]!.caseRef }))).toBe(PERMISSION_DENIED);

    // Case references learnt elsewhere do not help either.
    for (const t of theirs) {
      expect(await codeOf(officeAsHostile.discloseNewcomerData({ caseRef: t.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }))).toBe(PERMISSION_DENIED);
    }
    // Its own case, routed but not accepted: nothing yet (the office waits for the acceptance).
    expect(await codeOf(officeAsHostile.discloseNewcomerData({ caseRef: mine.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }))).toBe(UNAVAILABLE);
    // Once it accepted, exactly its own case.
    await accept(hostileId, mine.caseRef, mine.referralId);
    const own = await officeAsHostile.discloseNewcomerData({ caseRef: mine.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' });
    expect(own.familyName).toBe(mine.familyName);

    const register = await disclosures([mine, ...theirs].map((t) => t.caseRef));
    expect(register.filter((r) => r.outcome === 'granted').map((r) => [r.case_ref, r.caller_agency_id])).toEqual([[mine.caseRef, hostileId]]);
    expect(register.filter((r) => r.outcome === 'denied' && r.caller_agency_id === hostileId)).toHaveLength(theirs.length + 1);
  }, 120_000);

  it('a withdrawal of a consent it is no party to is refused, and the consent stays in force', async () => {
    const target = theirs[1]!;
    expect(await codeOf(officeAsHostile.withdrawConsent({ requestId: 'ntk-stranger-withdraw', consentId: target.consentId, newcomerId: '', reason: 'forged' }))).toBe(PERMISSION_DENIED);
    const { consents } = await office.getNewcomer({ newcomerId: (await office.listReferrals({ newcomerId: '', status: 0, pageSize: 500, pageToken: '' })).referrals.find((r) => r.referralId === target.referralId)!.newcomerId });
    expect(consents.find((c) => c.consentId === target.consentId)!.withdrawnAt).toBeUndefined();
  });

  it('after its referral is closed it reads nothing more', async () => {
    const closed = await referredTo('closed', hostileId);
    await accept(hostileId, closed.caseRef, closed.referralId);
    const disclose = () => officeAsHostile.discloseNewcomerData({ caseRef: closed.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' });
    expect((await disclose()).familyName).toBe(closed.familyName);
    await provider(hostileId).completeReferral({ requestId: `ntk-complete-${closed.referralId}`, referralId: closed.referralId, outcome: ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED });
    await waitFor(async () => (await atHub(closed.caseRef)).status === S.REFERRAL_STATUS_COMPLETED, 30_000, 'the close at the hub');
    await refusedSoon(disclose, 'a disclosure after the close');
  }, 60_000);

  it('after it declined and the hub re-routed, the old recipient reads nothing; the new one, once it accepts, does', async () => {
    const moved = await referredTo('moved', hostileId);
    await provider(hostileId).declineReferral({ requestId: `ntk-decline-${moved.referralId}`, referralId: moved.referralId, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
    await waitFor(async () => {
      const c = await atHub(moved.caseRef);
      return c.status === S.REFERRAL_STATUS_PENDING && c.currentAgencyId !== hostileId;
    }, 30_000, 'the re-routing at the hub');
    const next = (await atHub(moved.caseRef)).currentAgencyId;
    expect(next).toBe(thirdId);
    await refusedSoon(() => officeAsHostile.discloseNewcomerData({ caseRef: moved.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }), 'a disclosure to the provider that declined');
    await waitFor(async () => (await provider(next).listReferrals({ status: 0, pageSize: 0, pageToken: '' })).referrals.some((r) => r.referralId === moved.referralId), 30_000, 'the referral at the next provider');
    await accept(next, moved.caseRef, moved.referralId);
    const granted = await officeAs.get(next)!.discloseNewcomerData({ caseRef: moved.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' });
    expect(granted.familyName).toBe(moved.familyName);
  }, 120_000);
});
