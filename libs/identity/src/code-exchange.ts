import { mtlsFetch, type ClientCertificate } from './tls-post.js';

export interface SignedIn {
  accessToken: string;
  expiresAt: Date;
}

export class SignInError extends Error {}

/** What of an issuer's discovery document sign-in uses. */
export interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  /** RFC 8705 §5: the token endpoint's address for clients with a certificate. */
  mtls_endpoint_aliases?: { token_endpoint?: string };
}

export interface CodeExchange {
  clientId: string;
  redirectUri: string;
  code: string;
  codeVerifier: string;
  /** The deployment's certificate the token is to be bound to (a server that signs people in: the CLI, the console). */
  certificate?: ClientCertificate;
}

/**
 * The authorisation code for an access token. With a certificate and an issuer that offers a
 * mutual-TLS alias of its token endpoint, the exchange goes there, so the token comes bound to
 * that certificate (RFC 8705 `cnf.x5t#S256`); otherwise to the plain token endpoint.
 */
export async function exchangeCode(discovery: Discovery, exchange: CodeExchange): Promise<SignedIn> {
  const form = new URLSearchParams({ grant_type: 'authorization_code', code: exchange.code, redirect_uri: exchange.redirectUri, client_id: exchange.clientId, code_verifier: exchange.codeVerifier });
  const alias = discovery.mtls_endpoint_aliases?.token_endpoint;
  const token =
    exchange.certificate && alias
      ? await mtlsFetch(exchange.certificate)(alias, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form }).catch((error: Error) => {
          throw new SignInError(`the issuer's mutual-TLS token endpoint ${alias} refused the connection: ${error.message}`);
        })
      : await fetch(discovery.token_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  const body = (await token.json()) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
  if (!token.ok || !body.access_token) {
    // oidc-provider says only "grant request is invalid" when a bound client comes without a certificate.
    const hint = !exchange.certificate && alias ? ` (this issuer binds tokens to a client certificate at ${alias}: sign in with the deployment's certificate)` : '';
    throw new SignInError(`token request refused: ${body.error ?? token.status} ${body.error_description ?? ''}`.trim() + hint);
  }
  return { accessToken: body.access_token, expiresAt: new Date(Date.now() + (body.expires_in ?? 0) * 1000) };
}
