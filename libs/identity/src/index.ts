export { AGENCY_CLAIM, ROLES, ROLES_CLAIM, isRole, type Person, type Role, type StaffAccount } from './staff.js';
// The embedded issuer is `@lotse/identity/issuer`: only the launcher and tests load oidc-provider.
export { signInWithPassword, SignInError, type SignedIn, type SignInOptions } from './sign-in.js';
export { exchangeCode, type CodeExchange, type Discovery } from './code-exchange.js';
export { mtlsFetch, type ClientCertificate } from './tls-post.js';
export { certificateThumbprint, createPersonTokenVerifier, PersonTokenError, type PersonTokenOptions, type PersonTokenVerifier } from './person-token.js';
export { HTTP_KEEP_ALIVE_MS, keepIdleConnectionsOpen } from './http-keep-alive.js';
