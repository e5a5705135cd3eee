import { join } from 'node:path';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
// Only the older protocol, to check the fallback; @grpc/reflection exports the pair (v1 + v1alpha) alone.
import { ReflectionV1AlphaImplementation } from '@grpc/reflection/build/src/implementations/reflection-v1alpha.js';
import { common, lotsenhaus, protoRoot } from '@lotse/contracts';
import { loadIdentity } from '@lotse/pki';
import { describe, expect, it } from 'vitest';
import { errorReport } from '../src/cli/status-details.js';
import { FOREIGN_OFFICE, LOTSENHAUS, pki, provider, rejection, useCliServer, withClient } from './support/cli-server.js';

useCliServer();

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
