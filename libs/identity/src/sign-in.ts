import { createHash, randomBytes } from 'node:crypto';
import { exchangeCode, SignInError, type Discovery, type SignedIn } from './code-exchange.js';
import type { ClientCertificate } from './tls-post.js';

/**
 * Signs a member of staff in the way a browser does — authorisation code + PKCE through the
 * issuer's own login page — for the CLI and the scenario, which have no browser. It follows
 * only the standard endpoints (discovery, authorize, the login form, token), so it works with
 * any issuer whose login form takes `username` and `password`, as the embedded one does.
 *
 * Given the deployment's certificate, it exchanges the code at the issuer's mutual-TLS alias of
 * the token endpoint (RFC 8705 `mtls_endpoint_aliases`) when discovery offers one, so the token
 * is bound to the certificate the calls then come with.
 */
export interface SignInOptions {
  issuer: string;
  clientId: string;
  redirectUri: string;
  username: string;
  password: string;
  /** The certificate (and key, and the network's CA) the token is to be bound to. */
  certificate?: ClientCertificate;
}

export { SignInError, type SignedIn };

export async function signInWithPassword(options: SignInOptions): Promise<SignedIn> {
  const discovery = (await (await getOnce(new URL('/.well-known/openid-configuration', options.issuer).href)).json()) as Discovery;
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    client_id: options.clientId,
    response_type: 'code',
    redirect_uri: options.redirectUri,
    scope: 'openid lotse',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  }).toString();

  const cookies = new CookieJar();
  let response = await cookies.fetch(authorize.href);
  let location = await redirectOf(response, authorize.href);
  if (location.startsWith(options.redirectUri)) throw new SignInError(`the issuer refused the sign-in request: ${new URL(location).searchParams.get('error_description') ?? location}`);
  // The issuer sends the browser to its login page; post the form there.
  const loginPage = await cookies.fetch(location);
  const action = /<form[^>]*action="([^"]+)"/.exec(await loginPage.text())?.[1];
  if (!action) throw new SignInError(`the issuer showed no login form at ${location}`);
  const loginUrl = new URL(action.replace(/&#47;/g, '/'), location).href;
  response = await cookies.fetch(loginUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: options.username, password: options.password }).toString(),
  });
  if (response.status === 401) throw new SignInError(`sign-in refused for ${options.username}: unknown user or wrong password`);
  location = await redirectOf(response, loginUrl);
  // Follow the issuer's redirects until it sends the browser back to the client with a code.
  for (let hops = 0; !location.startsWith(options.redirectUri); hops++) {
    if (hops > 5) throw new SignInError('the issuer did not come back with an authorisation code');
    location = await redirectOf(await cookies.fetch(location), location);
  }
  const back = new URL(location);
  if (back.searchParams.get('error')) throw new SignInError(`${back.searchParams.get('error')}: ${back.searchParams.get('error_description') ?? ''}`);
  if (back.searchParams.get('state') !== state) throw new SignInError('the issuer answered with another state');
  const code = back.searchParams.get('code');
  if (!code) throw new SignInError('the issuer sent no authorisation code');

  return exchangeCode(discovery, { clientId: options.clientId, redirectUri: options.redirectUri, code, codeVerifier: verifier, ...(options.certificate && { certificate: options.certificate }) });
}

async function redirectOf(response: Response, base: string): Promise<string> {
  const location = response.headers.get('location');
  if (response.status < 300 || response.status >= 400 || !location) {
    const said = (await response.text().catch(() => '')).slice(0, 200);
    throw new SignInError(`expected a redirect from ${new URL(base).pathname}, got HTTP ${response.status}${said ? `: ${said}` : ''}`);
  }
  return new URL(location, base).href;
}

/**
 * A GET, tried a second time when a kept-alive connection turns out to have been closed by the
 * server (an issuer that restarted, e.g. to rotate its keys), as browsers do for idempotent requests.
 */
async function getOnce(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
    return fetch(url, init);
  }
}

/** Just enough of a browser's cookie handling for one sign-in against one issuer. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await (init.method && init.method !== 'GET' ? fetch(url, { ...init, headers, redirect: 'manual' }) : getOnce(url, { ...init, headers, redirect: 'manual' }));
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      if (at > 0) this.cookies.set(pair!.slice(0, at).trim(), pair!.slice(at + 1).trim());
    }
    return response;
  }
}
