// `pnpm lotse login <deployment> --as <user>`: signs a member of staff in against the network's
// OpenID issuer (authorisation code + PKCE through its login page) and keeps the access token
// beside the network file, where `pnpm lotse call` picks it up for calls to that deployment. The
// code is exchanged over mutual TLS with the deployment's certificate where the issuer offers
// that (RFC 8705), so the token is bound to the certificate `pnpm lotse call` then presents.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Metadata } from '@grpc/grpc-js';
import { signInWithPassword, SignInError } from '@lotse/identity';
import { readClientIdentity, UsageError } from './target.js';

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

interface SignInSection {
  issuer: string;
  clientId: string;
  redirectUri: string;
  staff?: { username: string; agencyId: string }[];
}

export const isLoginCommand = (argv: readonly string[]) => argv[0] === 'login';

/** Where the token for calls to `agencyId` is kept (mode 600, next to network.json). */
export const tokenFile = (networkFile: string, agencyId: string) => join(dirname(networkFile), 'tokens', `${agencyId}.json`);

export async function runLogin(argv: readonly string[], io: Io): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      strict: true,
      options: { as: { type: 'string' }, password: { type: 'string' }, network: { type: 'string', default: '.lotse/network.json' }, pki: { type: 'string' } },
    });
    const [deployment] = positionals;
    if (!deployment || positionals.length > 1 || !values.as) throw new UsageError('login takes <deployment> --as <user> [--password <password>] [--pki <dir>]');
    const { signIn, pki } = await readNetwork(values.network);
    const member = signIn.staff?.find((s) => s.username === values.as);
    if (member && member.agencyId !== deployment) throw new UsageError(`${values.as} works at ${member.agencyId}, not at ${deployment}`);
    const password = values.password ?? process.env.LOTSE_PASSWORD ?? 'lotse-demo';
    const certificate = await readClientIdentity(values.pki ?? pki ?? '.lotse/pki', deployment);
    const { accessToken, expiresAt } = await signInWithPassword({ issuer: signIn.issuer, clientId: signIn.clientId, redirectUri: signIn.redirectUri, username: values.as, password, certificate });
    const file = tokenFile(values.network, deployment);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, JSON.stringify({ username: values.as, accessToken, expiresAt: expiresAt.toISOString() }), { mode: 0o600 });
    io.stdout(`signed in at ${deployment} as ${values.as} until ${expiresAt.toISOString()}; pnpm lotse call ${deployment} … sends the token\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.stderr(`${(error as Error).message}\n(see --help)\n`);
      return 2;
    }
    io.stderr(`ERROR: ${error instanceof SignInError ? error.message : ((error as Error).message ?? String(error))}\n`);
    return 1;
  }
}

/** The network file's sign-in section, and its certificate folder (the default of --pki). */
async function readNetwork(networkFile: string): Promise<{ signIn: SignInSection; pki?: string }> {
  let parsed: { signIn?: SignInSection; pki?: unknown };
  try {
    parsed = JSON.parse(await readFile(networkFile, 'utf8')) as { signIn?: SignInSection; pki?: unknown };
  } catch (error) {
    throw new UsageError(`cannot read ${networkFile} (${(error as Error).message}): start the network first`);
  }
  if (!parsed.signIn) throw new UsageError(`the network in ${networkFile} does not sign people in (it was started with LOTSE_SIGN_IN=0)`);
  return { signIn: parsed.signIn, ...(typeof parsed.pki === 'string' && { pki: parsed.pki }) };
}

/** The stored access token for calls to `agencyId`, unless there is none or it has expired. */
export async function storedToken(networkFile: string, agencyId: string): Promise<string | undefined> {
  try {
    const { accessToken, expiresAt } = JSON.parse(await readFile(tokenFile(networkFile, agencyId), 'utf8')) as { accessToken: string; expiresAt: string };
    return new Date(expiresAt).getTime() > Date.now() ? accessToken : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `client` with every unary call sending the token `pnpm lotse login` kept for the agency it calls
 * as (the directory commands' client; `pnpm lotse call` sets it on its one call itself). A call
 * given an authorization of its own keeps it; without a kept token the client is unchanged.
 */
export function sendingStoredToken<C extends object>(client: C, token: string | undefined): C {
  if (!token) return client;
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || property === 'close') return value;
      return (request: unknown, options: { deadlineMs?: number; metadata?: Metadata } = {}) => {
        const metadata = options.metadata ?? new Metadata();
        if (metadata.get('authorization').length === 0) metadata.set('authorization', `Bearer ${token}`);
        return (value as (r: unknown, o: unknown) => unknown).call(target, request, { ...options, metadata });
      };
    },
  });
}
