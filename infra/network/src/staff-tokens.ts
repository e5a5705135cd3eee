// Demo staff signed in for whatever drives a running network with staff RPCs: the launcher's demo
// data, the scenario, the bench and the end-to-end tests. One access token per demo account
// (`<role>.<deployment>`), signed in on first use through the issuer's login page (code + PKCE, as
// `pnpm lotse login` does, the token bound to the certificate of the account's deployment, RFC
// 8705) and again shortly before it expires: tokens live 300 s, a scenario or a bench run much longer.
import { Metadata } from '@grpc/grpc-js';
import { accessMatrix, personRequirement, type Caller } from '@lotse/flows';
import type { PromiseClient } from '@lotse/grpc';
import { ROLES, signInWithPassword, type Role, type SignedIn } from '@lotse/identity';
import { loadIdentity } from '@lotse/pki';
import { DEMO_PASSWORD, type NetworkSignIn } from './sign-in.js';

/** Signed in again this long before the token expires, so no call goes out with one about to lapse. */
const RENEW_BEFORE_MS = 60_000;

type ServiceDefinition = Record<string, { path: string; responseStream?: boolean }>;

export class StaffTokens {
  /** Per demo account: the sign-in (shared by calls made at once) and, once it answered, when its token expires. */
  private readonly held = new Map<string, { signedIn: Promise<SignedIn>; expiresAt?: number }>();
  /** Sign-ins so far (renewals included): the bench says how many it made before measuring. */
  signIns = 0;
  /** The accounts the signed-in clients act as: `signInAll` signs them in ahead of the first call. */
  private readonly wanted = new Map<string, { agencyId: string; role: Role }>();

  /**
   * `agencyTypes`: deployment id → agency type, to know when a caller may call as software;
   * `pkiDir`: the certificates the tokens are bound to (each account's deployment's).
   */
  constructor(
    readonly signIn: NetworkSignIn,
    private readonly agencyTypes: ReadonlyMap<string, string>,
    private readonly pkiDir: string,
  ) {}

  /** The access token of `<role>.<agencyId>`, signed in now if there is none or it is about to expire. */
  async token(agencyId: string, role: Role = 'caseworker'): Promise<string> {
    const username = `${role}.${agencyId}`;
    let entry = this.held.get(username);
    if (!entry || (entry.expiresAt !== undefined && entry.expiresAt - Date.now() < RENEW_BEFORE_MS)) {
      if (!this.signIn.staff.some((s) => s.username === username)) throw new Error(`no demo account ${username} at the network's issuer`);
      this.signIns++;
      const signedIn = signInWithPassword({ issuer: this.signIn.issuer, clientId: this.signIn.clientId, redirectUri: this.signIn.redirectUri, username, password: DEMO_PASSWORD, certificate: loadIdentity(this.pkiDir, agencyId) });
      const made: { signedIn: Promise<SignedIn>; expiresAt?: number } = { signedIn };
      entry = made;
      this.held.set(username, made);
      signedIn.then(
        (s) => (made.expiresAt = s.expiresAt.getTime()),
        // A failed sign-in is not kept: the next call tries again.
        () => this.held.get(username) === made && this.held.delete(username),
      );
    }
    return (await entry.signedIn).accessToken;
  }

  /** `metadata` (a copy) with `authorization: Bearer` of `<role>.<agencyId>`. */
  async bearer(agencyId: string, role: Role = 'caseworker', metadata?: Metadata): Promise<Metadata> {
    const out = metadata?.clone() ?? new Metadata();
    out.set('authorization', `Bearer ${await this.token(agencyId, role)}`);
    return out;
  }

  /**
   * Which demo role a call of `method` by `callerId` at `targetId` signs in as: `preferred` if the
   * matrix's row names it, else the first role the row names that a demo account of the caller
   * has. None where the row names no people, or where the caller may call as software and has no
   * demo staff (a certificate of its own, such as a test's auditor).
   */
  roleFor(method: string, callerId: string, targetId: string, preferred: Role = 'caseworker'): Role | undefined {
    const need = personRequirement(method, this.caller(callerId), this.caller(targetId), accessMatrix());
    if (!need) return undefined;
    // A supervisor's account also holds the caseworker role.
    const fits = (role: Role) => need.roles.includes(role) || (role === 'supervisor' && need.roles.includes('caseworker'));
    const has = (role: Role) => this.signIn.staff.some((s) => s.username === `${role}.${callerId}`);
    const role = [preferred, ...ROLES].find((r) => fits(r) && has(r));
    if (!role && need.required) throw new Error(`${method} needs a person with the role ${need.roles.join(' or ')}, and ${callerId} has no such demo account`);
    return role;
  }

  /**
   * `client` (calling `targetId` with `callerId`'s certificate) with every unary call that acts
   * for a person sending the token of the demo account `roleFor` picks, unless it is given an
   * authorization of its own. Streaming calls go through `raw` and send what they are given.
   */
  signedIn<C>(service: ServiceDefinition, client: PromiseClient<C>, callerId: string, targetId: string, preferred?: Role): PromiseClient<C> {
    const wrapped: Record<string, unknown> = { raw: client.raw, close: () => client.close() };
    const methods = client as unknown as Record<string, (request: unknown, options?: { deadlineMs?: number; metadata?: Metadata }) => Promise<unknown>>;
    for (const [name, method] of Object.entries(service)) {
      if (method.responseStream || !methods[name]) continue;
      const role = this.roleFor(method.path.slice(1), callerId, targetId, preferred);
      if (role) this.wanted.set(`${role}.${callerId}`, { agencyId: callerId, role });
      // A call given an authorization of its own (a test replaying another's token) sends that one.
      wrapped[name] = role
        ? async (request: unknown, options: { deadlineMs?: number; metadata?: Metadata } = {}) =>
            methods[name]!(request, options.metadata?.get('authorization').length ? options : { ...options, metadata: await this.bearer(callerId, role, options.metadata) })
        : methods[name];
    }
    return wrapped as PromiseClient<C>;
  }

  /** Signs in every account a signed-in client acts as, so that no call waits for a sign-in. */
  async signInAll(): Promise<void> {
    await Promise.all([...this.wanted.values()].map(({ agencyId, role }) => this.token(agencyId, role)));
  }

  private caller(agencyId: string): Caller {
    const agencyType = this.agencyTypes.get(agencyId);
    if (!agencyType) throw new Error(`${agencyId} is no deployment of this network`);
    return { agencyId, agencyType };
  }
}

/** The network file's deployments as `StaffTokens` needs them (the console is the operator). */
export function agencyTypesOf(file: { deployments: { id: string; agencyType: string }[]; console?: { id: string } }): Map<string, string> {
  const types = new Map(file.deployments.map((d) => [d.id, d.agencyType]));
  if (file.console) types.set(file.console.id, 'operator');
  return types;
}

/** The staff of a network file, or undefined for a network started with LOTSE_SIGN_IN=0. */
export function staffTokensOf(file: { signIn?: NetworkSignIn; deployments: { id: string; agencyType: string }[]; console?: { id: string } }, pkiDir: string): StaffTokens | undefined {
  return file.signIn ? new StaffTokens(file.signIn, agencyTypesOf(file), pkiDir) : undefined;
}
