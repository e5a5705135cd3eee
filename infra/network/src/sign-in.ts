// Sign-in for the demo network: the embedded OpenID issuer with demo staff for each deployment
// and role. `pnpm lotse login <deployment> --as <user>` signs in against it; the services trust
// it through OIDC_ISSUER. A real deployment sets OIDC_ISSUER to its own IdP (Keycloak) instead.
import { createHash } from 'node:crypto';
import type { Role, StaffAccount } from '@lotse/identity';
import { startEmbeddedIssuer, type EmbeddedIssuer } from '@lotse/identity/issuer';
import type { DevDeployment, TlsIdentity } from '@lotse/pki';
import type { ConsoleDeployment, Deployment } from './deployments.js';

export const NETWORK_AUDIENCE = 'urn:lotse:network';
export const CLI_CLIENT = { clientId: 'lotse-cli', redirectUri: 'http://127.0.0.1/lotse-cli/callback' };
/** The operator console signs its operators in in the browser; it comes back to its own URL. */
export const CONSOLE_CLIENT_ID = 'lotse-console';
export const consoleClient = (consoleUrl: string) => ({ clientId: CONSOLE_CLIENT_ID, redirectUris: [`${consoleUrl}/auth/callback`], postLogoutRedirectUris: [`${consoleUrl}/auth/signed-out`] });
/**
 * The issuer's server certificate for its mutual-TLS token endpoint, from the network's CA. Its
 * agency type is in no row of the authorisation matrix, so as a client it reaches only what any
 * certificate of the network may call (as the broker's does).
 */
export const ISSUER_CERTIFICATE: DevDeployment = { id: 'issuer', agencyType: 'issuer' };
/** Every demo account's password: it is demo data, printed in the banner. */
export const DEMO_PASSWORD = 'lotse-demo';

/** What the network file says about sign-in, for the CLI and the tests. */
export interface NetworkSignIn {
  issuer: string;
  audience: string;
  clientId: string;
  redirectUri: string;
  staff: { username: string; agencyId: string; roles: Role[] }[];
}

/** Pseudonymous and stable across restarts: the audit trail keeps naming the same person. */
const staffId = (username: string) => `staff-${createHash('sha256').update(username).digest('hex').slice(0, 12)}`;

/**
 * Every role at every deployment and at the console, as `<role>.<deployment>`: an agency has its
 * own caseworkers, supervisors, IT operators, auditors and data-protection officer. A supervisor
 * also holds the caseworker role (the matrix lets a supervisor do what a caseworker does). The
 * console's operator and auditor are also `operator` and `auditor`, the names the README uses.
 */
export function demoStaff(deployments: Deployment[], operatorConsole: ConsoleDeployment): StaffAccount[] {
  const account = (username: string, agencyId: string, roles: Role[]): StaffAccount => ({ username, password: DEMO_PASSWORD, sub: staffId(username), displayName: username, agencyId, roles });
  const everyRole = (id: string) => [
    account(`caseworker.${id}`, id, ['caseworker']),
    account(`supervisor.${id}`, id, ['supervisor', 'caseworker']),
    account(`operator.${id}`, id, ['operator']),
    account(`auditor.${id}`, id, ['auditor']),
    account(`dpo.${id}`, id, ['dpo']),
  ];
  return [...deployments.flatMap((d) => everyRole(d.id)), ...everyRole(operatorConsole.id), account('operator', operatorConsole.id, ['operator']), account('auditor', operatorConsole.id, ['auditor'])];
}

/**
 * The issuer binds the CLI's and the console's tokens to the certificate the code is exchanged
 * with (RFC 8705, as infra/keycloak/lotse-realm.json does): its token endpoint's mutual-TLS alias
 * listens on `mtls.port`. The console comes back to its own URL after sign-in and sign-out.
 */
export async function startNetworkIssuer(port: number, staff: StaffAccount[], consoleUrl: string, mtls: { identity: TlsIdentity; port: number }): Promise<{ issuer: EmbeddedIssuer; signIn: NetworkSignIn }> {
  const clients = [{ clientId: CLI_CLIENT.clientId, redirectUris: [CLI_CLIENT.redirectUri], certificateBound: true }, { ...consoleClient(consoleUrl), certificateBound: true }];
  const issuer = await startEmbeddedIssuer({ port, staff, audience: NETWORK_AUDIENCE, clients, mtls });
  return {
    issuer,
    signIn: { issuer: issuer.issuer, audience: NETWORK_AUDIENCE, ...CLI_CLIENT, staff: staff.map((s) => ({ username: s.username, agencyId: s.agencyId, roles: s.roles })) },
  };
}
