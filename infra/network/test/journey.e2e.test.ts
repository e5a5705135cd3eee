// End to end: the network started as the README does (`pnpm start`), on the real PostgreSQL
// (one database per deployment) and a real nats-server, driven over gRPC like caseworkers would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berlinDate } from '@lotse/grpc';
import { common, foreignOffice as fo, lotsenhaus as hub, migrationServices as ms } from '@lotse/contracts';
import { ReflectionClient } from '../src/cli/reflection-client.js';
import { loadIdentity } from '@lotse/pki';
import { join } from 'node:path';
import { retrying, traced, waitFor, type RunningNetwork, startNetworkOnPostgres, type NetworkOnPostgres } from '../src/network-process.js';

const { ReferralStatus: S, Purpose, DataCategory } = common;
const providers = ['caritas-koblenz', 'caritas-rhein-mosel-ahr', 'awo-rheinland'];

let setup: NetworkOnPostgres;
let network: RunningNetwork;
let home: string;

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
  ({ network, home } = setup);
}, 300_000);

afterAll(async () => {
  await setup?.remove();
}, 60_000);

const foClient = () => network.client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
const hubClient = () => network.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
const providerClient = (id: string) => network.client<ms.MigrationServicesServiceClient>(ms.MigrationServicesServiceClient, id);

async function registerWithConsent(client: ReturnType<typeof foClient>, key: string, person: Partial<fo.RegisterNewcomerRequest>) {
  const { newcomer } = await retrying(() =>
    client.registerNewcomer({
      requestId: `reg-${key}`,
      givenNames: 'Amina',
      familyName: 'Haddad',
      birthDate: '1988-05-17',
      nationality: 'SY',
      languages: ['ar'],
      municipality: 'andernach',
      residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
      ...person,
    }),
  );
  await retrying(() =>
    client.recordConsent({
      requestId: `consent-${key}`,
      newcomerId: newcomer!.newcomerId,
      recipients: ['migration-services'],
      purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
      dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      textVersion: 'mbe-einwilligung-2026-01',
      language: 'ar',
      interpreterUsed: true,
      expiresAt: undefined,
    }),
  );
  return newcomer!;
}

describe('a consented referral through the network', () => {
  it('flows from the foreign office through the hub to a provider, with one trace per step', async () => {
    const client = foClient();
    const newcomer = await registerWithConsent(client, 'journey', { givenNames: 'Олена', familyName: 'Шевченко', municipality: 'mayen' });

    const request = traced();
    const { referral } = await client.requestReferral(
      { requestId: 'journey-referral', newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' },
      { metadata: request.metadata },
    );
    expect(referral!.status).toBe(S.REFERRAL_STATUS_REQUESTED);

    const timeline = async () => (await hubClient().getCaseTimeline({ caseRef: newcomer.caseRef })).entries;
    await waitFor(async () => (await timeline()).some((e) => e.eventType === 'ReferralReceived'), 15_000, 'the provider to receive the referral');
    const routed = await timeline();
    expect(routed.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived']);
    // One trace from the caseworker's call through the relay, NATS, the hub and the provider.
    expect(new Set(routed.map((e) => e.traceId))).toEqual(new Set([request.traceId]));
    const providerId = routed[2]!.agencyId;
    expect(providerId).toBe('caritas-rhein-mosel-ahr'); // adults in Mayen: Caritas Rhein-Mosel-Ahr

    const provider = providerClient(providerId);
    const accept = traced();
    await provider.acceptReferral({ requestId: 'journey-accept', referralId: referral!.referralId }, { metadata: accept.metadata });
    const fetch = traced();
    const { newcomer: data } = await provider.fetchNewcomerData({ requestId: 'journey-fetch', referralId: referral!.referralId }, { metadata: fetch.metadata });
    expect(data!.givenNames).toBe('Олена');
    expect(data!.nationality).toBe(''); // not a consented category
    const contact = traced();
    await provider.recordFirstContact(
      { requestId: 'journey-contact', referralId: referral!.referralId, contactDate: berlinDate(new Date()), channel: common.ContactChannel.CONTACT_CHANNEL_IN_PERSON, interpreterUsed: true },
      { metadata: contact.metadata },
    );

    await waitFor(async () => (await hubClient().getCaseTimeline({ caseRef: newcomer.caseRef })).caseSummary!.status === S.REFERRAL_STATUS_COUNSELLING_STARTED, 15_000, 'counselling to start at the hub');
    const full = await timeline();
    expect(full.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', 'NewcomerDataReceived', 'FirstContactRecorded']);
    expect(full.map((e) => e.traceId)).toEqual([request.traceId, request.traceId, request.traceId, accept.traceId, fetch.traceId, contact.traceId]);
    await waitFor(
      async () => (await client.listReferrals({ newcomerId: newcomer.newcomerId, status: 0, pageSize: 0, pageToken: '' })).referrals[0]?.status === S.REFERRAL_STATUS_COUNSELLING_STARTED,
      15_000,
      'the foreign office to see counselling started',
    );
  });

  it('takes a referral from a generic gRPC client that learns the API by reflection', async () => {
    const newcomer = await registerWithConsent(foClient(), 'reflection', { municipality: 'koblenz', birthDate: '2006-02-01' });
    const generic = new ReflectionClient({ address: network.deployment('kv-mayen-koblenz').grpc, tls: loadIdentity(join(home, 'pki'), 'kv-mayen-koblenz'), deadlineMs: 10_000 });
    try {
      const response = (await generic.call('lotse.foreign_office.v1.ForeignOfficeService/RequestReferral', {
        requestId: 'reflection-referral',
        newcomerId: newcomer.newcomerId,
        purpose: 'PURPOSE_MIGRATION_COUNSELLING',
      }, await network.bearer('kv-mayen-koblenz'))) as { referral: { status: string } };
      expect(response.referral.status).toBe('REFERRAL_STATUS_REQUESTED');
    } finally {
      generic.close();
    }
    await waitFor(async () => (await hubClient().getCaseTimeline({ caseRef: newcomer.caseRef })).caseSummary!.currentAgencyId === 'awo-rheinland', 15_000, 'youth referral routed to the AWO youth migration service');
  });

  it('refuses a referral without consent and moves nothing', async () => {
    const client = foClient();
    const { newcomer } = await client.registerNewcomer({
      requestId: 'no-consent',
      givenNames: 'Karim',
      familyName: 'Nasser',
      birthDate: '1979-09-09',
      nationality: 'IQ',
      languages: ['ar'],
      municipality: 'koblenz',
      residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_ASYLUM_SEEKER,
    });
    await expect(
      client.requestReferral({ requestId: 'no-consent-referral', newcomerId: newcomer!.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' }),
    ).rejects.toMatchObject({ code: 7 });
    expect((await client.listReferrals({ newcomerId: newcomer!.newcomerId, status: 0, pageSize: 0, pageToken: '' })).referrals).toHaveLength(0);
    await expect(hubClient().getCaseTimeline({ caseRef: newcomer!.caseRef })).rejects.toMatchObject({ code: 5 });
  });

  it('loses and doubles nothing when the foreign office, the hub and a provider are killed mid-flow', async () => {
    const municipalities = ['koblenz', 'andernach', 'mayen', 'bendorf', 'vallendar'];
    const count = 36;
    const crashes: Record<number, string> = { 8: 'lotsenhaus', 16: 'kv-mayen-koblenz', 24: 'caritas-koblenz', 30: 'lotsenhaus' };
    const created: { referralId: string; caseRef: string }[] = [];
    let client = foClient();
    for (let i = 0; i < count; i++) {
      const crashed = crashes[i];
      if (crashed) {
        const pid = network.crash(crashed);
        if (crashed === 'kv-mayen-koblenz') {
          // Calls fail while it is down; the retries below carry the same request ids.
          await network.waitUntilReady(crashed, pid);
          client.raw.close();
          client = foClient();
        }
      }
      const newcomer = await registerWithConsent(client, `crash-${i}`, { municipality: municipalities[i % municipalities.length]!, birthDate: i % 3 === 0 ? '2003-03-03' : '1980-08-08' });
      const { referral } = await retrying(() =>
        client.requestReferral({ requestId: `crash-referral-${i}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' }),
      );
      // A retry after an unknown outcome must not create a second referral.
      const again = await retrying(() =>
        client.requestReferral({ requestId: `crash-referral-${i}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' }),
      );
      expect(again.referral!.referralId).toBe(referral!.referralId);
      created.push({ referralId: referral!.referralId, caseRef: newcomer.caseRef });
    }

    // Every referral reaches exactly one provider's inbox, once, and the hub timeline once.
    const inboxes = async () => {
      const all: string[] = [];
      for (const id of providers) {
        const { referrals } = await retrying(() => providerClient(id).listReferrals({ status: 0, pageSize: 500, pageToken: '' }));
        all.push(...referrals.map((r) => r.referralId));
      }
      return all;
    };
    const wanted = new Set(created.map((c) => c.referralId));
    await waitFor(async () => (await inboxes()).filter((id) => wanted.has(id)).length >= count, 90_000, 'all referrals in provider inboxes');
    const received = (await inboxes()).filter((id) => wanted.has(id));
    expect(received).toHaveLength(count);
    expect(new Set(received).size).toBe(count);

    for (const c of created) {
      await waitFor(async () => (await retrying(() => hubClient().getCaseTimeline({ caseRef: c.caseRef }))).entries.length >= 3, 30_000, `timeline of ${c.caseRef}`);
      const { entries, caseSummary } = await retrying(() => hubClient().getCaseTimeline({ caseRef: c.caseRef }));
      expect(entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived']);
      expect(caseSummary!.status).toBe(S.REFERRAL_STATUS_PENDING);
    }
    const { referrals } = await retrying(() => foClient().listReferrals({ newcomerId: '', status: 0, pageSize: 500, pageToken: '' }));
    const mine = referrals.filter((r) => wanted.has(r.referralId));
    expect(mine).toHaveLength(count);
    await waitFor(async () => {
      const { referrals: now } = await foClient().listReferrals({ newcomerId: '', status: S.REFERRAL_STATUS_PENDING, pageSize: 500, pageToken: '' });
      return now.filter((r) => wanted.has(r.referralId)).length === count;
    }, 30_000, 'the foreign office to see every referral pending');
    for (const id of ['lotsenhaus', 'kv-mayen-koblenz', 'caritas-koblenz']) expect(network.deployment(id).restarts).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
