// The set-ups the migration services' integration tests run on, one start per test file (vitest
// runs the files in parallel, each with databases, agency ids and streams of its own):
// - startProviderFixture: the provider next to the real foreign office, the owner of the
//   newcomer's data, with two newcomers registered there; the test plays the hub.
// - startDataProtectionFixture: the foreign office, the hub and the provider, each with its own
//   PostgreSQL database and a clock the test can move forward.
import { join } from 'node:path';
import { common, dataProtection, envelope, events, eventTypeOf, foreignOffice, lotsenhaus, migrationServices as ms } from '@lotse/contracts';
import { berlinDate, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { durableNameFor } from '@lotse/messaging';
import { subjectOf } from '@lotse/runtime';
import { announceReferralWith, caseworker, publishEvent, randomId, startTestNetwork, streamEvents, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
// The real foreign office and hub (not dependencies of this package).
import { create as createForeignOffice } from '@lotse/foreign-office';
import { create as createHub } from '@lotse/lotsenhaus';
import { create } from '../../src/index.js';

const { DataCategory, Purpose, AgeGroup } = common;
const logLevel = process.env.LOG_LEVEL ?? 'silent';

// Dates as the services judge them: the calendar in Germany (berlinDate), not UTC's.
export const today = () => berlinDate(new Date());

export type ProviderUnderTest = Awaited<ReturnType<typeof startProviderFixture>>;

export async function startProviderFixture() {
  const hubId = randomId('hub');
  const foId = randomId('fo');
  const providerId = randomId('mbe');
  const net = await startTestNetwork({
    name: 'provider',
    members: [
      { id: foId, agencyType: 'foreign-office' },
      { id: providerId, agencyType: 'migration-services' },
    ],
    streams: [hubId],
  });
  try {
    const nats = net.nats;
    const fo = await net.agency({
      id: foId,
      database: 'lotse_fo_test',
      create: (config) => createForeignOffice({ ...config, logLevel: 'silent', hubAgencyId: hubId }, { logger: createLogger(foId, { level: logLevel }) }),
    });
    const foRunning = fo.running;
    const provider = await net.agency({
      id: providerId,
      database: 'lotse_mbe_test',
      create: (config) => create({ ...config, logLevel: 'silent', hubAgencyId: hubId, peers: new Map([[foId, fo.address]]) }, { logger: createLogger(providerId, { level: logLevel }) }),
    });
    const providerRunning = provider.running;
    const foClient = fo.client(foreignOffice.ForeignOfficeServiceClient);

    async function registerWithConsent(
      requestId: string,
      names: { givenNames: string; familyName: string },
      recipients: string[],
      purposes: common.Purpose[] = [Purpose.PURPOSE_MIGRATION_COUNSELLING],
    ) {
      const { newcomer } = await foClient.registerNewcomer({
        requestId,
        ...names,
        birthDate: '1990-04-12',
        nationality: 'SY',
        languages: ['ar', 'en'],
        municipality: 'andernach',
        residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
      });
      const { consent } = await foClient.recordConsent({
        requestId: `${requestId}-consent`,
        newcomerId: newcomer!.newcomerId,
        recipients,
        purposes,
        dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
        expiresAt: undefined,
        textVersion: 'mbe-einwilligung-2026-01',
        language: 'ar',
        interpreterUsed: true,
      });
      return { caseRef: newcomer!.caseRef, consentId: consent!.consentId };
    }

    /** Plays the hub: a ReferralRouted addressed to this provider. */
    async function route(newcomer: { caseRef: string; consentId: string }, ids: { referralId?: string; eventId?: string; msgId?: string } = {}) {
      const referralId = ids.referralId ?? uuidv7();
      const eventId = await publishEvent(nats, {
        producer: hubId,
        audience: providerId,
        codec: events.ReferralRouted,
        message: events.ReferralRouted.fromPartial({
          referralId,
          caseRef: newcomer.caseRef,
          referrerAgencyId: foId,
          providerId,
          purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
          consentId: newcomer.consentId,
          ageGroup: AgeGroup.AGE_GROUP_ADULT,
          routingReason: 'agreement',
          routedAt: new Date(),
        }),
        caseRef: newcomer.caseRef,
        eventId: ids.eventId,
        msgId: ids.msgId,
      });
      // The owner discloses only to the agency the hub says a referral is with; these tests play
      // the hub's part in telling it (the order of routing and acceptance does not matter here).
      await announceReferralWith(nats, { hubId, ownerId: foId, caseRef: newcomer.caseRef, providerId, referralId }, foRunning.ctx.db);
      return { referralId, eventId };
    }

    const inboxRow = (referralId: string) => providerRunning.ctx.db.selectFrom('received_referral').selectAll().where('referral_id', '=', referralId).executeTakeFirst();

    async function streamedEvents<T extends { referralId: string }>(codec: { decode(b: Uint8Array): T }, referralId: string) {
      const stored = await streamEvents(nats, providerId);
      return stored
        .filter((e) => e.subject === subjectOf(providerId, codec))
        .map((e) => ({ envelope: e.envelope, message: codec.decode(e.envelope.payload) }))
        .filter((e) => e.message.referralId === referralId);
    }

    // Newcomers registered at the foreign office.
    const covered = await registerWithConsent('reg-covered', { givenNames: 'ليلى', familyName: 'الخطيب' }, ['migration-services']);
    const notCovered = await registerWithConsent('reg-not-covered', { givenNames: 'عمر', familyName: 'حداد' }, ['job-centre'], [Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION]);

    return {
      hubId,
      foId,
      providerId,
      nats,
      foRunning,
      providerRunning,
      client: provider.client(ms.MigrationServicesServiceClient),
      clientWithFoCert: provider.client(ms.MigrationServicesServiceClient, foId),
      covered,
      notCovered,
      route,
      inboxRow,
      async routeAndWait(newcomer: { caseRef: string; consentId: string }) {
        const routed = await route(newcomer);
        await waitFor(() => inboxRow(routed.referralId), `referral ${routed.referralId} in the inbox`);
        return routed;
      },
      /** Events this provider produced about a referral: in its outbox (committed) and, once relayed, in its stream. */
      async outboxEvents(eventType: string, referralId: string) {
        const rows = await providerRunning.ctx.db
          .selectFrom('outbox' as any)
          .select(['event_id', 'payload'])
          .where('event_type', '=', eventType)
          .execute();
        const codec = (events as unknown as Record<string, { decode(b: Uint8Array): { referralId: string } }>)[eventType]!;
        return (rows as { event_id: string; payload: Buffer }[]).filter((r) => codec.decode(envelope.Envelope.decode(r.payload).payload).referralId === referralId);
      },
      streamedEvents,
      waitForStreamed<T extends { referralId: string }>(codec: { decode(b: Uint8Array): T }, referralId: string) {
        return waitFor(async () => {
          const found = await streamedEvents(codec, referralId);
          return found.length ? found : undefined;
        }, `${eventTypeOf(codec)} for ${referralId} in the provider's stream`);
      },
      providerDurable: () => durableNameFor(providerId, `lotse.${hubId}.*.${providerId}`),
      stop: () => net.close(),
    };
  } catch (error) {
    // A set-up that failed halfway leaves nothing behind.
    await net.close().catch(() => undefined);
    throw error;
  }
}

export const actions = (r: dataProtection.GetDataSubjectReportResponse) => r.auditEntries.map((e) => [dataProtection.auditActionToJSON(e.action), e.actorAgencyId, e.caseworkerId]);

export type DataProtectionUnderTest = Awaited<ReturnType<typeof startDataProtectionFixture>>;

export async function startDataProtectionFixture() {
  const foId = randomId('fo');
  const hubId = randomId('hub');
  const providerId = randomId('mbe');
  const otherFoId = randomId('fo-other');
  const auditorId = randomId('dsb');
  const policyFile = join(import.meta.dirname, '../../../../policy/retention.json');
  /** How far each agency's clock runs ahead, by agency id. */
  const shift: Record<string, number> = {};
  const clockOf = (id: string) => () => new Date(Date.now() + (shift[id] ?? 0));
  const ports: Record<string, number> = {};
  const dbs: Record<string, any> = {};

  const net = await startTestNetwork({
    name: 'dp-journey',
    members: [
      { id: foId, agencyType: 'foreign-office' },
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: providerId, agencyType: 'migration-services' },
      { id: otherFoId, agencyType: 'foreign-office' },
      { id: auditorId, agencyType: 'auditor' },
    ],
  });
  try {
    const directoryFile = net.file('directory.json', {
      region: 'Test region',
      municipalities: [{ code: 'andernach', name: 'Stadt Andernach' }],
      referrers: [{ agencyId: foId, name: 'Test-Ausländerbehörde', agencyType: 'foreign-office' }],
      providers: [{ providerId, name: 'Test MBE', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult', 'youth'], municipalities: ['andernach'] }] }],
    });
    const base = { logLevel: 'silent' as const, hubAgencyId: hubId, retention: { intervalMs: 0, policyFile } };
    const overrides = (id: string) => ({ logger: createLogger(id, { level: logLevel }), now: clockOf(id) });

    const { running: hubRunning } = await net.agency({ id: hubId, database: 'lotse_dp_hub', create: (config) => createHub({ ...config, ...base, directoryFile }, overrides(hubId)) });
    ports[hubId] = hubRunning.grpcPort;
    dbs[hubId] = hubRunning.ctx.db;
    // The foreign office needs the provider's address and the provider the office's: start the
    // office on a fixed free port first is not possible, so the office learns the provider's later
    // through the shared map.
    const foPeers = new Map<string, string>([[hubId, `127.0.0.1:${hubRunning.grpcPort}`]]);
    const { running: foRunning } = await net.agency({ id: foId, database: 'lotse_dp_fo', create: (config) => createForeignOffice({ ...config, ...base, peers: foPeers }, overrides(foId)) });
    ports[foId] = foRunning.grpcPort;
    dbs[foId] = foRunning.ctx.db;
    const { running: providerRunning } = await net.agency({
      id: providerId,
      database: 'lotse_dp_mbe',
      create: (config) => create({ ...config, ...base, peers: new Map([[foId, `127.0.0.1:${foRunning.grpcPort}`]]) }, overrides(providerId)),
    });
    ports[providerId] = providerRunning.grpcPort;
    dbs[providerId] = providerRunning.ctx.db;
    foPeers.set(providerId, `127.0.0.1:${providerRunning.grpcPort}`);

    const client = <C>(Ctor: any, at: string, as: string): PromiseClient<C & import('@grpc/grpc-js').Client> => net.client(Ctor, `127.0.0.1:${ports[at]}`, as) as any;
    const fo = client<foreignOffice.ForeignOfficeServiceClient>(foreignOffice.ForeignOfficeServiceClient, foId, foId);
    const provider = client<ms.MigrationServicesServiceClient>(ms.MigrationServicesServiceClient, providerId, providerId);

    /** A newcomer registered with consent, referred, routed by the hub, accepted and fetched by the provider. */
    async function journey(names: { givenNames: string; familyName: string }) {
      const { newcomer } = await fo.registerNewcomer(
        {
          requestId: `reg-${uuidv7()}`,
          ...names,
          birthDate: '1988-02-03',
          nationality: 'UA',
          languages: ['uk', 'ru'],
          municipality: 'andernach',
          residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_TEMPORARY_PROTECTION,
        },
        caseworker('cw-fo-1'),
      );
      const { consent } = await fo.recordConsent(
        {
          requestId: `consent-${uuidv7()}`,
          newcomerId: newcomer!.newcomerId,
          recipients: ['migration-services'],
          purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
          dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
          expiresAt: undefined,
          textVersion: 'mbe-einwilligung-2026-01',
          language: 'uk',
          interpreterUsed: false,
        },
        caseworker('cw-fo-1'),
      );
      await fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer!.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
      const inbox = await waitFor(async () => {
        const { referrals } = await provider.listReferrals({ status: 0, pageSize: 0, pageToken: '' });
        return referrals.find((r) => r.caseRef === newcomer!.caseRef);
      }, 'the routed referral in the provider inbox', 20_000);
      await provider.acceptReferral({ requestId: `acc-${uuidv7()}`, referralId: inbox.referralId }, caseworker('cw-mbe-1'));
      await provider.fetchNewcomerData({ requestId: `fetch-${uuidv7()}`, referralId: inbox.referralId }, caseworker('cw-mbe-1'));
      await provider.getReferral({ referralId: inbox.referralId }, caseworker('cw-mbe-2'));
      return { newcomer: newcomer!, consent: consent!, referralId: inbox.referralId };
    }

    return {
      foId,
      hubId,
      providerId,
      otherFoId,
      auditorId,
      shift,
      dbs,
      fo,
      provider,
      hubClient: client<lotsenhaus.LotsenhausServiceClient>(lotsenhaus.LotsenhausServiceClient, hubId, foId),
      report: client<dataProtection.TransparencyReportServiceClient>(dataProtection.TransparencyReportServiceClient, foId, foId),
      dp: (at: string, as: string) => client<dataProtection.DataProtectionServiceClient>(dataProtection.DataProtectionServiceClient, at, as),
      journey,
      stop: () => net.close(),
    };
  } catch (error) {
    await net.close().catch(() => undefined);
    throw error;
  }
}
