// End to end: the network started as the README says, where people sign in (the default):
// the launcher runs the embedded OpenID issuer, the demo data is entered by
// the foreign office's demo caseworker, a staff RPC without a token is refused and writes
// nothing, `pnpm lotse login` then lets the same call through, the audit trail names the
// caseworker's pseudonymous staff id; the token is bound to the deployment's certificate
// (RFC 8705) and refused over any other.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { migrationServices as ms } from '@lotse/contracts';
import { signInWithPassword } from '@lotse/identity';
import { loadIdentity } from '@lotse/pki';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run-cli.js';
import { runLogin } from '../src/cli/login-command.js';
import { retrying, startNetworkOnPostgres, type NetworkOnPostgres } from '../src/network-process.js';
import { rowCounts } from './support/raw-calls.js';
import { DEMO_PASSWORD, demoStaff, type NetworkSignIn } from '../src/sign-in.js';
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

  it('binds the token pnpm lotse login stored to the deployment’s certificate (RFC 8705), exchanged at the issuer’s mutual-TLS alias', async () => {
    const token = storedToken(foId);
    const thumbprint = createHash('sha256').update(new X509Certificate(readFileSync(join(pki, `${foId}.crt`))).raw).digest('base64url');
    expect((JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { cnf?: unknown }).cnf).toEqual({ 'x5t#S256': thumbprint });
    const discovery = (await (await fetch(`${signIn().issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string; authorization_endpoint: string; mtls_endpoint_aliases?: { token_endpoint?: string } };
    const alias = discovery.mtls_endpoint_aliases?.token_endpoint;
    expect(alias).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/token$/);
    // The login page stays where browsers reach it without a client certificate.
    expect(discovery.authorization_endpoint.startsWith(signIn().issuer)).toBe(true);
    // No client certificate, no connection; the network's certificate is taken (a made-up code is then refused).
    expect(await postTo(alias!, { ca: readFileSync(join(pki, 'ca.crt')) })).toBeInstanceOf(Error);
    expect(await postTo(alias!, loadIdentity(pki, foId))).toBe(400);
    // And the CLI's client gets no token at the plain token endpoint.
    await expect(signInWithPassword({ issuer: signIn().issuer, clientId: signIn().clientId, redirectUri: signIn().redirectUri, username: `caseworker.${foId}`, password: DEMO_PASSWORD })).rejects.toThrow(/binds tokens to a client certificate/);
  });

  it('refuses the caseworker’s token over another deployment’s certificate, as bound to another certificate, and writes nothing', async () => {
    const before = await rowCounts(setup);
    // Replayed at a provider's deployment, over the provider's own certificate.
    expect(await replayed(storedToken(foId), 'caritas-koblenz')).toMatchObject({ code: status.UNAUTHENTICATED, details: expect.stringMatching(/bound to another certificate/) });
    // A provider's caseworker's token, replayed at another provider (the same agency type) over its certificate.
    const login = await cli(runLogin, ['login', 'caritas-koblenz', '--as', 'caseworker.caritas-koblenz', '--network', networkFile]);
    expect(login.code).toBe(0);
    expect(await replayed(storedToken('caritas-koblenz'), 'caritas-rhein-mosel-ahr')).toMatchObject({ code: status.UNAUTHENTICATED, details: expect.stringMatching(/bound to another certificate/) });
    expect(await rowCounts(setup)).toEqual(before);
    // Over its own certificate the same token passes the edge (the handler then finds no such referral).
    const own = await replayed(storedToken('caritas-koblenz'), 'caritas-koblenz');
    expect([status.UNAUTHENTICATED, status.PERMISSION_DENIED], own?.details).not.toContain(own?.code);
  });
});

const storedToken = (deployment: string) => (JSON.parse(readFileSync(join(setup.home, 'tokens', `${deployment}.json`), 'utf8')) as { accessToken: string }).accessToken;
const signIn = () => (JSON.parse(readFileSync(networkFile, 'utf8')) as { signIn: NetworkSignIn }).signIn;

/** AcceptReferral of a made-up referral at `deployment`, over its own certificate, with `token`: the error (or undefined). */
async function replayed(token: string, deployment: string): Promise<{ code: number; details: string } | undefined> {
  const client = setup.network.client<ms.MigrationServicesServiceClient>(ms.MigrationServicesServiceClient, deployment);
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  try {
    const request = ms.AcceptReferralRequest.fromPartial({ requestId: `replay-${deployment}`, referralId: '00000000-0000-7000-8000-000000000000' });
    return await retrying(() => client.acceptReferral(request, { metadata })).then(() => undefined, (e: { code: number; details: string }) => e);
  } finally {
    client.close();
  }
}

/** A POST to the issuer's alias with the given TLS material: the HTTP status, or the connection's error. */
function postTo(url: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', ...tls, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', resolve);
    req.end('grant_type=authorization_code&code=x&client_id=lotse-cli');
  });
}
