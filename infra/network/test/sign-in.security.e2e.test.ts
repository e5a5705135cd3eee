// End to end: the network started as the README says, where people sign in (the default):
// the launcher runs the embedded OpenID issuer, the demo data is entered by
// the foreign office's demo caseworker, a staff RPC without a token is refused and writes
// nothing, `pnpm lotse login` then lets the same call through, the audit trail names the
// caseworker's pseudonymous staff id, and the token is refused at another deployment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { migrationServices as ms } from '@lotse/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run-cli.js';
import { runLogin } from '../src/cli/login-command.js';
import { retrying, startNetworkOnPostgres, type NetworkOnPostgres } from '../src/network-process.js';
import { demoStaff } from '../src/sign-in.js';
import { consoleDeployment, demoDeployments } from '../src/deployments.js';

let setup: NetworkOnPostgres;
let networkFile: string;
let pki: string;
const foId = 'kv-mayen-koblenz';

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
  networkFile = join(setup.home, 'network.json');
  pki = join(setup.home, 'pki');
}, 300_000);

afterAll(async () => {
  await setup?.remove();
}, 60_000);

async function cli(run: (argv: string[], io: { stdout: (t: string) => void; stderr: (t: string) => void }) => Promise<number>, argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

async function query<T extends pg.QueryResultRow>(deployment: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: setup.databaseUrl(deployment) });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const register = (requestId: string) =>
  JSON.stringify({ requestId, givenNames: 'Lina', familyName: 'Haddad', birthDate: '1991-02-03', nationality: 'SY', languages: ['ar'], municipality: 'koblenz', residenceStatus: 'RESIDENCE_STATUS_RECOGNISED_REFUGEE' });

describe('a network whose staff sign in', () => {
  it('says how to sign in, and entered the demo data as a signed-in caseworker', async () => {
    expect(setup.network.output).toMatch(/People sign in \(OpenID issuer http:\/\/127\.0\.0\.1:\d+/);
    expect(setup.network.output).toContain('pnpm lotse login kv-mayen-koblenz --as caseworker.kv-mayen-koblenz');
    const caseworker = demoStaff(demoDeployments(0), consoleDeployment(0)).find((s) => s.username === `caseworker.${foId}`)!;
    const writers = await query<{ caseworker_id: string | null }>(foId, "select distinct caseworker_id from audit_log where action = 'write'");
    expect(writers).toEqual([{ caseworker_id: caseworker.sub }]);
  });

  it('refuses a staff RPC without a token and writes nothing; after pnpm lotse login the call goes through and the audit names the staff id', async () => {
    const before = await query<{ n: number }>(foId, 'select count(*)::int as n from newcomer');
    const refused = await cli(runCli, ['call', foId, 'lotse.foreign_office.v1.ForeignOfficeService/RegisterNewcomer', register('signin-1'), '--pki', pki, '--network', networkFile]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/UNAUTHENTICATED: this call acts for a person/);
    expect(await query(foId, 'select count(*)::int as n from newcomer')).toEqual(before);

    const login = await cli(runLogin, ['login', foId, '--as', `caseworker.${foId}`, '--network', networkFile]);
    expect(login.err).toBe('');
    expect(login.code).toBe(0);
    const wrong = await cli(runLogin, ['login', foId, '--as', `caseworker.${foId}`, '--password', 'wrong', '--network', networkFile]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/unknown user or wrong password/);

    const served = await cli(runCli, ['call', foId, 'lotse.foreign_office.v1.ForeignOfficeService/RegisterNewcomer', register('signin-1'), '--pki', pki, '--network', networkFile]);
    expect(served.err).toBe('');
    const { newcomer } = JSON.parse(served.out) as { newcomer: { caseRef: string } };
    const caseworker = demoStaff(demoDeployments(0), consoleDeployment(0)).find((s) => s.username === `caseworker.${foId}`)!;
    expect(await query(foId, 'select actor_agency_id, caseworker_id from audit_log where subject_ref = $1', [newcomer.caseRef])).toEqual([{ actor_agency_id: foId, caseworker_id: caseworker.sub }]);
  });

  it('refuses the caseworker’s token over another deployment’s certificate', async () => {
    const token = (JSON.parse(readFileSync(join(setup.home, 'tokens', `${foId}.json`), 'utf8')) as { accessToken: string }).accessToken;
    // Replayed at a provider's deployment, over the provider's own certificate.
    const client = setup.network.client<ms.MigrationServicesServiceClient>(ms.MigrationServicesServiceClient, 'caritas-koblenz');
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const error = await retrying(() => client.listReferrals(ms.ListReferralsRequest.fromPartial({}), { metadata }).then(() => undefined, (e: { code: number; details: string }) => e));
    expect(error?.code).toBe(status.PERMISSION_DENIED);
    expect(error?.details).toMatch(/access token is for agency kv-mayen-koblenz, but the call comes with the certificate of caritas-koblenz/);
    client.close();
  });
});
