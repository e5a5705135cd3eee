// A foreign office booted in-process on the real PostgreSQL (pooled) and NATS, with clients that
// present its own certificate and those of a provider and a job centre. One start per test file:
// vitest runs the files in parallel, each with a database, agency ids and streams of its own.
import type { Client } from '@grpc/grpc-js';
import { common, dataProtection, foreignOffice } from '@lotse/contracts';
import { sql, type Database, type Kysely } from '@lotse/db';
import type { PromiseClient } from '@lotse/grpc';
import type { NatsClients } from '@lotse/messaging';
import type { RunningAgency } from '@lotse/runtime';
import { announceReferralWith, caseworker, randomId, startTestNetwork, type NetworkMember } from '@lotse/testing';
import type { Selectable } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { create, toConfig, type ForeignOfficeDb } from '../../src/index.js';

export type FoClient = PromiseClient<foreignOffice.ForeignOfficeServiceClient>;
type CallOptions = Parameters<FoClient['registerNewcomer']>[1];
type ClientConstructor<C extends Client> = new (...args: any[]) => C;
const { Purpose, DataCategory } = common;

export interface ForeignOfficeUnderTest {
  foId: string;
  hubId: string;
  caritasId: string;
  jobCentreId: string;
  /** The certificates of the agencies above (and of `alsoMembers`). */
  pkiDir: string;
  databaseUrl: string;
  running: RunningAgency<ForeignOfficeDb>;
  service: ReturnType<typeof create>;
  /** A second pool on the same database, for the test's own queries. */
  query: Database<ForeignOfficeDb>;
  /** That pool untyped, as the tests read it: the libraries' tables too (outbox, audit_log, parked_message …). */
  db: Kysely<any>;
  nats: NatsClients;
  fo: FoClient;
  caritas: FoClient;
  jobCentre: FoClient;
  /** The office's transparency report, asked with its own certificate. */
  report: PromiseClient<dataProtection.TransparencyReportServiceClient>;
  /** Any of the office's services, called as the member `asId`; closed at stop. */
  client<C extends Client>(Ctor: ClientConstructor<C>, asId: string): PromiseClient<C>;
  count(table: string, where?: ReturnType<typeof sql>): Promise<number>;
  /** Registers (and records a consent) as the office, with the `caseworker` option's header unless `options` says otherwise. */
  register(overrides?: Partial<foreignOffice.RegisterNewcomerRequest>, options?: CallOptions): Promise<foreignOffice.Newcomer>;
  consent(newcomerId: string, overrides?: Partial<foreignOffice.RecordConsentRequest>, options?: CallOptions): Promise<foreignOffice.Consent>;
  /** The office's row of a referral (it must exist). */
  referralRow(referralId: string): Promise<Selectable<ForeignOfficeDb['referral']>>;
  /**
   * The hub tells the office that a referral of the case is with `providerId` (accepted unless
   * said otherwise), as it does after a provider's answer; resolves once the office has it.
   */
  referredTo(caseRef: string, providerId: string, options?: { referralId?: string; status?: common.ReferralStatus; purpose?: common.Purpose }): Promise<string>;
  stop(): Promise<void>;
}

export interface ForeignOfficeFixtureOptions {
  poolSize?: number;
  now?: () => Date;
  /**
   * `env` may be a function of the network's certificate folder, for settings that need its CA — an
   * OpenID issuer that binds tokens to certificates of the network.
   */
  env?: Record<string, string> | ((pkiDir: string) => Promise<Record<string, string>>);
  /** More certificates from the network's CA (an auditor, another foreign office …). */
  alsoMembers?: NetworkMember[];
  /** PEERS: where the office finds the hub, for its part of a transparency report. */
  hubAddress?: string;
  /** Call options register() and consent() send by default (e.g. a caseworker header). */
  callOptions?: () => CallOptions;
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

export async function startForeignOfficeFixture(options: ForeignOfficeFixtureOptions = {}): Promise<ForeignOfficeUnderTest> {
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
      ...(options.alsoMembers ?? []),
    ],
    streams: [hubId],
  });
  try {
    const testDb = await net.database('lotse_fo');
    const config = toConfig({
      AGENCY_ID: foId,
      HUB_AGENCY_ID: hubId,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      DATABASE_URL: testDb.url,
      NATS_URL: net.natsUrl,
      PKI_DIR: net.pkiDir,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      ...(options.hubAddress && { PEERS: `${hubId}=${options.hubAddress}` }),
      ...(typeof options.env === 'function' ? await options.env(net.pkiDir) : options.env),
    });
    if (options.poolSize) config.database.poolSize = options.poolSize;
    const service = create(config, options.now ? { now: options.now } : {});
    const running = await net.start(service);
    const query = await net.pool<ForeignOfficeDb>(testDb);
    const { pkiDir, nats } = net;
    const client = <C extends Client>(Ctor: ClientConstructor<C>, asId: string) =>
      net.client(Ctor as any, `127.0.0.1:${running.grpcPort}`, asId, { deadlineMs: 20_000 }) as PromiseClient<C>;
    const fo = client(foreignOffice.ForeignOfficeServiceClient, foId);
    const defaults = options.callOptions ?? (() => undefined);
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
      db: query.db as Kysely<any>,
      nats,
      fo,
      caritas: client(foreignOffice.ForeignOfficeServiceClient, caritasId),
      jobCentre: client(foreignOffice.ForeignOfficeServiceClient, jobCentreId),
      report: client(dataProtection.TransparencyReportServiceClient, foId),
      client,
      async count(table, where = sql`true`) {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${where}`.execute(query.db);
        return rows[0]!.n;
      },
      async register(overrides, callOptions = defaults()) {
        return (await fo.registerNewcomer(newcomerRequest(overrides), callOptions)).newcomer!;
      },
      async consent(newcomerId, overrides, callOptions = defaults()) {
        return (await fo.recordConsent(consentRequest(newcomerId, overrides), callOptions)).consent!;
      },
      referralRow: (referralId) => query.db.selectFrom('referral').selectAll().where('referral_id', '=', referralId).executeTakeFirstOrThrow(),
      referredTo: (caseRef, providerId, referral = {}) => announceReferralWith(nats, { hubId, ownerId: foId, caseRef, providerId, ...referral }, query.db),
      stop: () => net.close(),
    };
  } catch (error) {
    // A set-up that failed halfway leaves nothing behind.
    await net.close().catch(() => undefined);
    throw error;
  }
}

export interface DataProtectionUnderTest extends ForeignOfficeUnderTest {
  otherFoId: string;
  auditorId: string;
  operatorId: string;
  /** The office's DataProtectionService as each member of the network. */
  dp: Record<string, PromiseClient<dataProtection.DataProtectionServiceClient>>;
  /** The office's audit log of a case, oldest first. */
  auditRows(caseRef: string): Promise<any[]>;
  auditCount(): Promise<number>;
}

/**
 * The office as its data protection officer, auditors and operators see it: another foreign
 * office, an auditor and an operator have certificates too; the hub named in PEERS does not
 * listen (the transparency report has to say so instead of failing); retention runs only when
 * asked; register() and consent() come from caseworker cw-anna.
 */
export async function startDataProtectionFixture(options: { now?: () => Date } = {}): Promise<DataProtectionUnderTest> {
  const otherFoId = randomId('fo-other');
  const auditorId = randomId('dsb');
  const operatorId = randomId('ops');
  const t = await startForeignOfficeFixture({
    ...options,
    alsoMembers: [
      { id: otherFoId, agencyType: 'foreign-office' },
      { id: auditorId, agencyType: 'auditor' },
      { id: operatorId, agencyType: 'operator' },
    ],
    // Nothing listens on port 9: the hub cannot be reached. The provider has no address at all.
    hubAddress: '127.0.0.1:9',
    env: { RETENTION_INTERVAL_MS: '0' },
    callOptions: () => caseworker('cw-anna'),
  });
  const dp: DataProtectionUnderTest['dp'] = {};
  for (const id of [t.foId, otherFoId, t.caritasId, auditorId, operatorId, t.jobCentreId]) dp[id] = t.client(dataProtection.DataProtectionServiceClient, id);
  return {
    ...t,
    otherFoId,
    auditorId,
    operatorId,
    dp,
    auditRows: (caseRef) => t.db.selectFrom('audit_log').selectAll().where('subject_ref', '=', caseRef).orderBy('seq').execute(),
    auditCount: () => t.count('audit_log'),
  };
}
