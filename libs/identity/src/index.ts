export { AGENCY_CLAIM, ROLES, ROLES_CLAIM, isRole, type Person, type Role, type StaffAccount } from './staff.js';
export { startEmbeddedIssuer, type EmbeddedIssuer, type EmbeddedIssuerOptions } from './embedded-issuer.js';
export { signInWithPassword, SignInError, type SignedIn, type SignInOptions } from './sign-in.js';
export { createPersonTokenVerifier, PersonTokenError, type PersonTokenOptions, type PersonTokenVerifier } from './person-token.js';
