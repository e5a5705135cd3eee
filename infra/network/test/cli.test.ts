import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
// Only the older protocol, to check the fallback; @grpc/reflection exports the pair (v1 + v1alpha) alone.
import { ReflectionV1AlphaImplementation } from '@grpc/reflection/build/src/implementations/reflection-v1alpha.js';
import { common, foreignOffice, lotsenhaus, protoRoot } from '@lotse/contracts';
import { FailedPreconditionError, GrpcServer, NotFoundError, ValidationError } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli/cli-args.js';
import { parseMethodPath, ReflectionClient } from '../src/cli/reflection-client.js';
import { runCli } from '../src/cli/run-cli.js';
import { errorReport } from '../src/cli/status-details.js';
import { resolveTarget } from '../src/cli/target.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cliMain = join(repoRoot, 'infra/network/src/cli/main.ts');
const LOTSENHAUS = 'lotse.lotsenhaus.v1.LotsenhausService';
const FOREIGN_OFFICE = 'lotse.foreign_office.v1.ForeignOfficeService';
const OPENED_AT = new Date('2026-01-15T09:30:00.000Z');

let dir: string;
let pki: string;
let networkFile: string;
let server: GrpcServer;
let address: string;

const provider: lotsenhaus.Provider = {
  providerId: 'caritas-koblenz',
  name: 'Caritasverband Koblenz',
  agencyType: 'migration-services',
  municipalities: ['koblenz', 'andernach'],
  ageGroups: [common.AgeGroup.AGE_GROUP_ADULT],
  purposes: [common.Purpose.PURPOSE_MIGRATION_COUNSELLING],
  staffLanguages: [],
  capacity: [],
};

beforeAll(async () => {
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
});

afterAll(async () => {
  await server?.stop(1000);
  if (dir) await rm(dir, { recursive: true, force: true });
});

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

function clientAs(agencyId: string, target = address): ReflectionClient {
  return new ReflectionClient({ address: target, tls: loadIdentity(pki, agencyId), deadlineMs: 5000 });
}

async function withClient<T>(work: (client: ReflectionClient) => Promise<T>, target = address): Promise<T> {
  const client = clientAs('kv-mayen-koblenz', target);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('reflection client', () => {
  it('lists the services the server offers through reflection', async () => {
    const services = await withClient((client) => client.listServices());
    expect(services).toContain(LOTSENHAUS);
    expect(services).toContain(FOREIGN_OFFICE);
  });

  it('lists grpc.health.v1.Health, so generic tools find the health check', async () => {
    const services = await withClient((client) => client.listServices());
    expect(services).toContain('grpc.health.v1.Health');
  });

  it('describes methods with their request and response types and fields', async () => {
    const description = await withClient((client) => client.describe(LOTSENHAUS));
    expect(description.methods.map((m) => m.name).sort()).toEqual(['GetCaseTimeline', 'ListAgreements', 'ListCases', 'ListErasures', 'ListProviders', 'WatchTimeline']);
    const listCases = description.methods.find((m) => m.name === 'ListCases')!;
    expect(listCases).toMatchObject({
      path: `/${LOTSENHAUS}/ListCases`,
      kind: 'unary',
      requestType: 'lotse.lotsenhaus.v1.ListCasesRequest',
      responseType: 'lotse.lotsenhaus.v1.ListCasesResponse',
    });
    expect(listCases.requestFields.map((f) => [f.name, f.jsonName, f.type, f.number])).toEqual([
      ['status', 'status', 'lotse.common.v1.ReferralStatus', 1],
      ['agency_id', 'agencyId', 'string', 2],
      ['page_size', 'pageSize', 'uint32', 3],
      ['page_token', 'pageToken', 'string', 4],
      ['municipality', 'municipality', 'string', 5],
      ['waiting_longer_than_working_days', 'waitingLongerThanWorkingDays', 'uint32', 6],
      ['escalated_only', 'escalatedOnly', 'bool', 7],
    ]);
    expect(listCases.requestFields[0]!.enumValues).toContain('REFERRAL_STATUS_PENDING');
    const timeline = description.methods.find((m) => m.name === 'GetCaseTimeline')!;
    expect(timeline.responseFields.find((f) => f.name === 'entries')).toMatchObject({ type: 'lotse.lotsenhaus.v1.TimelineEntry', repeated: true });
  });

  it('calls a method and prints the response as proto3 JSON, defaults included', async () => {
    const response = await withClient((client) => client.call(`${LOTSENHAUS}/ListProviders`, '{}'));
    expect(response).toEqual({
      providers: [
        {
          providerId: 'caritas-koblenz',
          name: 'Caritasverband Koblenz',
          agencyType: 'migration-services',
          municipalities: ['koblenz', 'andernach'],
          ageGroups: ['AGE_GROUP_ADULT'],
          purposes: ['PURPOSE_MIGRATION_COUNSELLING'],
          staffLanguages: [],
          capacity: [],
        },
      ],
    });
  });

  it('reads proto field names and enum names, writes timestamps as RFC 3339', async () => {
    const response = await withClient((client) =>
      client.call(`${LOTSENHAUS}.ListCases`, { status: 'REFERRAL_STATUS_ACCEPTED', agency_id: 'awo-rheinland', pageSize: 7 }),
    );
    expect(response).toEqual({
      cases: [
        {
          caseRef: 'case-1',
          status: 'REFERRAL_STATUS_ACCEPTED',
          currentAgencyId: 'awo-rheinland',
          referralId: 'ref-1',
          municipality: 'koblenz',
          ageGroup: 'AGE_GROUP_YOUTH',
          openedAt: '2026-01-15T09:30:00Z',
          escalated: false,
        },
      ],
      nextPageToken: 'after-7',
    });
  });

  it('sends timestamps, repeated enums and non-ASCII text of another contract', async () => {
    const response = await withClient(async (client) => ({
      newcomer: await client.call(`${FOREIGN_OFFICE}/RegisterNewcomer`, {
        requestId: 'r-1',
        givenNames: 'محمد',
        familyName: 'Al-Hassan',
        residenceStatus: 'RESIDENCE_STATUS_RECOGNISED_REFUGEE',
        languages: ['ar', 'de'],
      }),
      consent: await client.call(`${FOREIGN_OFFICE}/RecordConsent`, {
        requestId: 'r-2',
        purposes: ['PURPOSE_MIGRATION_COUNSELLING'],
        data_categories: ['DATA_CATEGORY_IDENTITY', 'DATA_CATEGORY_LANGUAGES'],
        expiresAt: '2027-06-30T12:00:00+02:00',
        interpreterUsed: true,
      }),
    }));
    expect(response.newcomer).toMatchObject({
      newcomer: { newcomerId: 'n-r-1', givenNames: 'محمد', familyName: 'Al-Hassan', residenceStatus: 'RESIDENCE_STATUS_RECOGNISED_REFUGEE', languages: ['ar', 'de'], birthDate: '' },
    });
    expect(response.consent).toMatchObject({
      consent: {
        consentId: 'c-1',
        purposes: ['PURPOSE_MIGRATION_COUNSELLING'],
        dataCategories: ['DATA_CATEGORY_IDENTITY', 'DATA_CATEGORY_LANGUAGES'],
        expiresAt: '2027-06-30T10:00:00Z',
        interpreterUsed: true,
        grantedAt: '2026-01-15T09:30:00Z',
      },
    });
  });

  it('surfaces INVALID_ARGUMENT with the field violations from grpc-status-details-bin', async () => {
    const error = await rejection(withClient((client) => client.call(`${LOTSENHAUS}/GetCaseTimeline`, { caseRef: '' })));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(errorReport(error)).toEqual({
      codeName: 'INVALID_ARGUMENT',
      details: 'case_ref: must not be empty',
      fieldViolations: [{ field: 'case_ref', description: 'must not be empty' }],
      otherDetails: [],
    });
  });

  it('surfaces NOT_FOUND without details', async () => {
    const error = await rejection(withClient((client) => client.call(`${LOTSENHAUS}/GetCaseTimeline`, '{"case_ref":"case-9"}')));
    expect(errorReport(error)).toMatchObject({ codeName: 'NOT_FOUND', details: 'case_ref: no case "case-9"', fieldViolations: [] });
  });

  it('rejects requests that do not fit the message before calling', async () => {
    await withClient(async (client) => {
      await expect(client.call(`${LOTSENHAUS}/ListCases`, { pageSise: 3 })).rejects.toThrow(/pageSise/);
      await expect(client.call(`${LOTSENHAUS}/ListCases`, { status: 'PENDING' })).rejects.toThrow(/PENDING/);
      await expect(client.call(`${LOTSENHAUS}/ListCases`, '{status:')).rejects.toThrow(/not valid JSON/);
      await expect(client.call(`${LOTSENHAUS}/Nope`, '{}')).rejects.toThrow(/has no method Nope/);
      await expect(client.call('lotse.nothing.v1.NoService/Call', '{}')).rejects.toThrow(/does not know lotse\.nothing\.v1\.NoService/);
    });
  });

  it('falls back to grpc.reflection.v1alpha when the server lacks v1', async () => {
    const identity = loadIdentity(pki, 'lotsenhaus');
    const legacy = new Server();
    const definition = loadSync(join(protoRoot, 'lotse/lotsenhaus/v1/lotsenhaus.proto'), { includeDirs: [protoRoot] });
    new ReflectionV1AlphaImplementation(definition).addToServer(legacy);
    legacy.addService(lotsenhaus.LotsenhausServiceService, {
      listProviders: (_call: unknown, callback: (e: null, r: lotsenhaus.ListProvidersResponse) => void) => callback(null, { providers: [provider] }),
      getCaseTimeline: () => undefined,
      listCases: () => undefined,
    });
    const port = await new Promise<number>((ok, fail) =>
      legacy.bindAsync('127.0.0.1:0', ServerCredentials.createSsl(identity.ca, [{ cert_chain: identity.cert, private_key: identity.key }], true), (e, p) =>
        e ? fail(e) : ok(p),
      ),
    );
    try {
      const response = await withClient(async (client) => {
        expect(await client.listServices()).toEqual([LOTSENHAUS]);
        return client.call(`${LOTSENHAUS}/ListProviders`, {});
      }, `127.0.0.1:${port}`);
      expect(response).toMatchObject({ providers: [{ providerId: 'caritas-koblenz', ageGroups: ['AGE_GROUP_ADULT'] }] });
    } finally {
      legacy.forceShutdown();
    }
  });
});

describe('command line', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
  };

  it('parses methods and arguments', () => {
    expect(parseMethodPath('/a.b.S/M')).toEqual({ serviceName: 'a.b.S', methodName: 'M' });
    expect(parseMethodPath('a.b.S.M')).toEqual({ serviceName: 'a.b.S', methodName: 'M' });
    expect(() => parseMethodPath('S/M')).toThrow(/package\.Service\/Method/);
    expect(parseCli(['call', 'lotsenhaus', 'a.S/M', '--as', 'x', '--deadline', '500'])).toEqual({
      command: { kind: 'call', address: 'lotsenhaus', method: 'a.S/M', request: '{}' },
      options: { as: 'x', pki: '.lotse/pki', network: '.lotse/network.json', deadlineMs: 500 },
    });
    expect(() => parseCli(['list'])).toThrow(/takes <address>/);
    expect(() => parseCli(['list', 'x', '--deadline', 'soon'])).toThrow(/--deadline/);
  });

  it('turns reconcile into the operator API call, as the console unless --as says otherwise', () => {
    const { command, options } = parseCli(['reconcile', 'kv-mayen-koblenz', '--since', '2026-11-20T10:00:00Z']);
    expect(options.as).toBe('console');
    expect(command).toMatchObject({ kind: 'call', address: 'kv-mayen-koblenz', method: 'lotse.operator.v1.OperatorService/Reconcile' });
    expect(JSON.parse((command as { request: string }).request)).toMatchObject({ since: '2026-11-20T10:00:00.000Z', operatorName: 'pnpm lotse reconcile' });
    expect(JSON.parse((parseCli(['reconcile', 'lotsenhaus', '--as', 'ops']).command as { request: string }).request).since).toBeUndefined();
    expect(parseCli(['reconcile', 'lotsenhaus', '--as', 'ops']).options.as).toBe('ops');
    expect(() => parseCli(['reconcile', 'x', '--since', 'yesterday'])).toThrow(/--since/);
    expect(() => parseCli(['reconcile'])).toThrow(/takes <deployment>/);
  });

  it('resolves agency ids through the network file', async () => {
    expect(await resolveTarget('lotsenhaus', networkFile)).toEqual({ address, agencyId: 'lotsenhaus' });
    expect(await resolveTarget('10.0.0.1:50051', join(dir, 'missing.json'))).toEqual({ address: '10.0.0.1:50051' });
    await expect(resolveTarget('caritas-koblenz', networkFile)).rejects.toThrow(/agencies: lotsenhaus/);
    await expect(resolveTarget('lotsenhaus', join(dir, 'missing.json'))).rejects.toThrow(/start the network/);
  });

  it('prints usage with an example call', async () => {
    const { out, io: sink } = io();
    expect(await runCli(['--help'], sink)).toBe(0);
    expect(out.stdout).toContain('pnpm lotse call kv-mayen-koblenz lotse.foreign_office.v1.ForeignOfficeService/RegisterNewcomer');
  });

  it('describes a service by agency id, presenting that agency’s certificate', async () => {
    const { out, io: sink } = io();
    const code = await runCli(['describe', 'lotsenhaus', LOTSENHAUS, '--pki', pki, '--network', networkFile], sink);
    expect(out.stderr).toBe('');
    expect(code).toBe(0);
    expect(out.stdout).toContain(`rpc ListCases(lotse.lotsenhaus.v1.ListCasesRequest) returns (lotse.lotsenhaus.v1.ListCasesResponse)`);
    expect(out.stdout).toContain('agencyId (agency_id): string = 2');
    expect(out.stdout).toContain('(no request fields)');
  });

  it('asks for --as when the address names no agency', async () => {
    const { out, io: sink } = io();
    expect(await runCli(['list', address, '--pki', pki], sink)).toBe(2);
    expect(out.stderr).toContain('--as <agency-id>');
  });

  it('runs as a process: list, call, and an error with field violations', async () => {
    const common = ['--pki', pki, '--network', networkFile];
    const list = await runMain(['list', 'lotsenhaus', ...common]);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout.split('\n')).toContain(LOTSENHAUS);

    const call = await runMain(['call', address, '--as', 'kv-mayen-koblenz', `${LOTSENHAUS}/ListProviders`, '{}', ...common]);
    expect(call).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(call.stdout)).toEqual({ providers: [expect.objectContaining({ providerId: 'caritas-koblenz', ageGroups: ['AGE_GROUP_ADULT'] })] });

    const failed = await runMain(['call', 'lotsenhaus', `${LOTSENHAUS}/GetCaseTimeline`, '{"caseRef":""}', ...common]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toBe('ERROR INVALID_ARGUMENT: case_ref: must not be empty\n  case_ref: must not be empty\n');
  });
});

function runMain(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
