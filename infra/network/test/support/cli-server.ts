// The stand-in hub both CLI test files call: a real GrpcServer with reflection (LotsenhausService
// and ForeignOfficeService answering from fixed data), the PKI of two agencies and a network file
// naming it. `useCliServer()` starts it before a file's tests and stops it after; the bindings
// below are live, so a test reads them once the server is up.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceError } from '@grpc/grpc-js';
import { common, foreignOffice, lotsenhaus } from '@lotse/contracts';
import { FailedPreconditionError, GrpcServer, NotFoundError, ValidationError } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { afterAll, beforeAll } from 'vitest';
import { ReflectionClient } from '../../src/cli/reflection-client.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const LOTSENHAUS = 'lotse.lotsenhaus.v1.LotsenhausService';
export const FOREIGN_OFFICE = 'lotse.foreign_office.v1.ForeignOfficeService';
export const OPENED_AT = new Date('2026-01-15T09:30:00.000Z');

export let dir: string;
export let pki: string;
export let networkFile: string;
let server: GrpcServer;
export let address: string;

export const provider: lotsenhaus.Provider = {
  providerId: 'caritas-koblenz',
  name: 'Caritasverband Koblenz',
  agencyType: 'migration-services',
  municipalities: ['koblenz', 'andernach'],
  ageGroups: [common.AgeGroup.AGE_GROUP_ADULT],
  purposes: [common.Purpose.PURPOSE_MIGRATION_COUNSELLING],
  staffLanguages: [],
  capacity: [],
};

export function useCliServer(): void {
  beforeAll(startServer);
  afterAll(stopServer);
}

async function startServer(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'lotse-cli-'));
  pki = join(dir, 'pki');
  await ensureDevPki(pki, [
    { id: 'lotsenhaus', agencyType: 'lotsenhaus' },
    { id: 'kv-mayen-koblenz', agencyType: 'foreign-office' },
  ]);
  server = new GrpcServer({ identity: loadIdentity(pki, 'lotsenhaus'), logger: createLogger('cli-test', { level: 'silent' }) });
  server.add(lotsenhaus.LotsenhausServiceService, 'lotse/lotsenhaus/v1/lotsenhaus.proto', {
    listProviders: async () => ({ providers: [provider] }),
    listAgreements: async () => ({ agreements: [] }),
    getCaseTimeline: async ({ caseRef }) => {
      if (!caseRef) throw ValidationError.field('case_ref', 'must not be empty');
      if (caseRef !== 'case-1') throw new NotFoundError('case_ref', caseRef, 'case');
      return { caseSummary: summary(caseRef, common.ReferralStatus.REFERRAL_STATUS_PENDING, 'caritas-koblenz'), entries: [] };
    },
    // Echoes the filters, so a test sees how the request JSON arrived.
    listCases: async ({ status: wanted, agencyId, pageSize }) => ({
      cases: [summary('case-1', wanted, agencyId)],
      nextPageToken: `after-${pageSize}`,
    }),
    listErasures: async () => ({ erasures: [], nextPageToken: '' }),
    watchTimeline: async () => {
      throw new FailedPreconditionError('not part of this test');
    },
  });
  // A second contract whose requests carry timestamps and non-ASCII text.
  const unused = async (): Promise<never> => {
    throw new FailedPreconditionError('not part of this test');
  };
  server.add(foreignOffice.ForeignOfficeServiceService, 'lotse/foreign_office/v1/foreign_office.proto', {
    registerNewcomer: async (request) => ({
      newcomer: {
        newcomerId: `n-${request.requestId}`,
        caseRef: 'case-1',
        givenNames: request.givenNames,
        familyName: request.familyName,
        birthDate: request.birthDate,
        nationality: request.nationality,
        languages: request.languages,
        municipality: request.municipality,
        residenceStatus: request.residenceStatus,
        registeredAt: OPENED_AT,
      },
    }),
    recordConsent: async (request) => ({
      consent: { ...request, consentId: 'c-1', grantedAt: OPENED_AT, withdrawnAt: undefined, withdrawalReceivedBy: '' },
    }),
    requestReferral: unused,
    getNewcomer: unused,
    listReferrals: unused,
    discloseNewcomerData: unused,
    getConsentText: unused,
    withdrawConsent: unused,
  });
  const port = await server.listen('127.0.0.1', 0);
  address = `127.0.0.1:${port}`;
  networkFile = join(dir, 'network.json');
  await writeFile(networkFile, JSON.stringify({ deployments: [{ id: 'lotsenhaus', grpc: address, service: 'lotsenhaus' }] }));
}

async function stopServer(): Promise<void> {
  await server?.stop(1000);
  if (dir) await rm(dir, { recursive: true, force: true });
}

function summary(caseRef: string, referralStatus: common.ReferralStatus, agencyId: string): lotsenhaus.CaseSummary {
  return {
    escalated: false,
    waitingSince: undefined,
    caseRef,
    status: referralStatus,
    currentAgencyId: agencyId,
    referralId: 'ref-1',
    municipality: 'koblenz',
    ageGroup: common.AgeGroup.AGE_GROUP_YOUTH,
    openedAt: OPENED_AT,
    updatedAt: undefined,
  };
}

export function clientAs(agencyId: string, target = address): ReflectionClient {
  return new ReflectionClient({ address: target, tls: loadIdentity(pki, agencyId), deadlineMs: 5000 });
}

export async function withClient<T>(work: (client: ReflectionClient) => Promise<T>, target = address): Promise<T> {
  const client = clientAs('kv-mayen-koblenz', target);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

export async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

