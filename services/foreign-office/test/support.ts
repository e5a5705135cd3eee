// A foreign office booted in-process on the real PostgreSQL (pooled) and NATS, with clients that
// present its own certificate and those of a provider and a job centre.
import { common, dataProtection, foreignOffice } from '@lotse/contracts';
import { sql, type Database } from '@lotse/db';
import type { PromiseClient } from '@lotse/grpc';
import type { NatsClients } from '@lotse/messaging';
import type { RunningAgency } from '@lotse/runtime';
import { announceReferralWith, randomId, startTestNetwork, waitFor, type TestNetwork } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { create, toConfig, type ForeignOfficeDb } from '../src/index.js';

export type FoClient = PromiseClient<foreignOffice.ForeignOfficeServiceClient>;
const { Purpose, DataCategory } = common;

export interface ForeignOfficeUnderTest {
  foId: string;
  hubId: string;
  caritasId: string;
  jobCentreId: string;
  /** The certificates of the agencies above. */
  pkiDir: string;
  databaseUrl: string;
  running: RunningAgency<ForeignOfficeDb>;
  service: ReturnType<typeof create>;
  /** A second pool on the same database, for the test's own queries. */
  query: Database<ForeignOfficeDb>;
  nats: NatsClients;
  fo: FoClient;
  caritas: FoClient;
  jobCentre: FoClient;
  /** The office's transparency report, asked with its own certificate. */
  report: PromiseClient<dataProtection.TransparencyReportServiceClient>;
  count(table: string, where?: ReturnType<typeof sql>): Promise<number>;
  register(overrides?: Partial<foreignOffice.RegisterNewcomerRequest>): Promise<foreignOffice.Newcomer>;
  consent(newcomerId: string, overrides?: Partial<foreignOffice.RecordConsentRequest>): Promise<foreignOffice.Consent>;
  /**
   * The hub tells the office that a referral of the case is with `providerId` (accepted unless
   * said otherwise), as it does after a provider's answer; resolves once the office has it.
   */
  referredTo(caseRef: string, providerId: string, options?: { referralId?: string; status?: common.ReferralStatus; purpose?: common.Purpose }): Promise<string>;
  stop(): Promise<void>;
}

export function newcomerRequest(overrides: Partial<foreignOffice.RegisterNewcomerRequest> = {}): foreignOffice.RegisterNewcomerRequest {
  return foreignOffice.RegisterNewcomerRequest.fromPartial({
    requestId: `reg-${uuidv7()}`,
    givenNames: 'Amira',
    familyName: 'Haddad',
    birthDate: '1990-05-17',
    nationality: 'SY',
    languages: ['ar', 'en'],
    municipality: 'andernach',
    residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
    ...overrides,
  });
}

export function consentRequest(newcomerId: string, overrides: Partial<foreignOffice.RecordConsentRequest> = {}): foreignOffice.RecordConsentRequest {
  return foreignOffice.RecordConsentRequest.fromPartial({
    requestId: `consent-${uuidv7()}`,
    newcomerId,
    recipients: ['migration-services'],
    purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
    dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
    textVersion: 'mbe-einwilligung-2026-01',
    language: 'ar',
    interpreterUsed: true,
    ...overrides,
  });
}

/**
 * `env` may be a function of the network's certificate folder, for settings that need its CA — an
 * OpenID issuer that binds tokens to certificates of the network.
 */
export async function startForeignOffice(options: { poolSize?: number; now?: () => Date; env?: Record<string, string> | ((pkiDir: string) => Promise<Record<string, string>>) } = {}): Promise<ForeignOfficeUnderTest> {
  const foId = randomId('fo');
  const hubId = randomId('hub');
  const caritasId = randomId('caritas');
  const jobCentreId = randomId('jobcenter');
  const net = await startTestNetwork({
    name: 'fo',
    members: [
      { id: foId, agencyType: 'foreign-office' },
      { id: caritasId, agencyType: 'migration-services' },
      { id: jobCentreId, agencyType: 'job-centre' },
    ],
    streams: [hubId],
  });
  try {
    const testDb = await net.database('lotse_fo_dp');
    const config = toConfig({
      AGENCY_ID: foId,
      HUB_AGENCY_ID: hubId,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      DATABASE_URL: testDb.url,
      NATS_URL: net.natsUrl,
      PKI_DIR: net.pkiDir,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      ...(typeof options.env === 'function' ? await options.env(net.pkiDir) : options.env),
    });
    if (options.poolSize) config.database.poolSize = options.poolSize;
    const service = create(config, options.now ? { now: options.now } : {});
    const running = await net.start(service);
    const query = await net.pool<ForeignOfficeDb>(testDb);
    const { pkiDir, nats } = net;
    const clientAs = (id: string): FoClient => net.client(foreignOffice.ForeignOfficeServiceClient, `127.0.0.1:${running.grpcPort}`, id, { deadlineMs: 20_000 });
    const fo = clientAs(foId);
    return {
      foId,
      hubId,
      caritasId,
      jobCentreId,
      pkiDir,
      databaseUrl: testDb.url,
      running,
      service,
      query,
      nats,
      fo,
      caritas: clientAs(caritasId),
      jobCentre: clientAs(jobCentreId),
      report: net.client(dataProtection.TransparencyReportServiceClient, `127.0.0.1:${running.grpcPort}`, foId, { deadlineMs: 20_000 }),
      async count(table, where = sql`true`) {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${where}`.execute(query.db);
        return rows[0]!.n;
      },
      async register(overrides) {
        return (await fo.registerNewcomer(newcomerRequest(overrides))).newcomer!;
      },
      async consent(newcomerId, overrides) {
        return (await fo.recordConsent(consentRequest(newcomerId, overrides))).consent!;
      },
      async referredTo(caseRef, providerId, options = {}) {
        const status = options.status ?? common.ReferralStatus.REFERRAL_STATUS_ACCEPTED;
        const referralId = await announceReferralWith(nats, { hubId, ownerId: foId, caseRef, providerId, ...options, status });
        await waitFor(
          async () => (await query.db.selectFrom('referral_recipient').select('status').where('referral_id', '=', referralId).where('status', '=', status).executeTakeFirst()) !== undefined,
          `the office to record referral ${referralId} with ${providerId}`,
        );
        return referralId;
      },
      stop: () => net.close(),
    };
  } catch (error) {
    // A set-up that failed halfway leaves nothing behind.
    await net.close().catch(() => undefined);
    throw error;
  }
}
