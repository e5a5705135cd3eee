/**
 * People who act at an agency, and what they may do there. The roles are the network's; an
 * agency's own identity provider (Keycloak, a state portal account) maps its groups onto them.
 */
export const ROLES = ['caseworker', 'supervisor', 'operator', 'auditor', 'dpo'] as const;
export type Role = (typeof ROLES)[number];

/** The claims a Lotse access token carries besides the standard ones (iss, sub, aud, exp, nbf). */
export const AGENCY_CLAIM = 'lotse_agency';
export const ROLES_CLAIM = 'lotse_roles';

/** A member of staff known to the embedded issuer (demo data; real deployments use their IdP). */
export interface StaffAccount {
  /** What they type to sign in, e.g. `anna.abh`. */
  username: string;
  password: string;
  /** The pseudonymous staff id that goes into tokens and audit trails, never the name. */
  sub: string;
  displayName: string;
  agencyId: string;
  roles: Role[];
}

/** A person a call acts for, as a verified token says. */
export interface Person {
  sub: string;
  agencyId: string;
  roles: Role[];
  issuer: string;
  /** When the token stops being valid (a session built on it ends then too). */
  expiresAt?: Date;
}

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);
