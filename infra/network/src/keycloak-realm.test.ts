import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAccessMatrix } from '@lotse/flows';
import { AGENCY_CLAIM, ROLES, ROLES_CLAIM } from '@lotse/identity';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './paths.js';
import { CLI_CLIENT, NETWORK_AUDIENCE } from './sign-in.js';

// The Keycloak realm in infra/keycloak is what an agency imports to sign its staff in. Keycloak
// does not run here; this keeps the export in step with what every deployment checks.

interface Mapper {
  protocolMapper: string;
  config: Record<string, string>;
}
const realm = JSON.parse(readFileSync(join(repoRoot, 'infra/keycloak/lotse-realm.json'), 'utf8')) as {
  accessTokenLifespan: number;
  roles: { realm: { name: string }[] };
  clientScopes: { name: string; protocolMappers: Mapper[] }[];
  clients: { clientId: string; publicClient: boolean; directAccessGrantsEnabled: boolean; implicitFlowEnabled: boolean; redirectUris: string[]; attributes: Record<string, string>; defaultClientScopes: string[] }[];
  users: unknown[];
};

describe('the Keycloak realm export', () => {
  it('has exactly the roles of the network, and every role the authorisation matrix names', () => {
    const names = realm.roles.realm.map((r) => r.name).sort();
    expect(names).toEqual([...ROLES].sort());
    const inMatrix = new Set([...loadAccessMatrix().rules.values()].flatMap((r) => r.people ?? []));
    for (const role of inMatrix) expect(names).toContain(role);
  });

  it('puts the audience, the agency claim and the roles claim into access tokens of both clients', () => {
    const scope = realm.clientScopes.find((s) => s.name === 'lotse')!;
    const by = (kind: string) => scope.protocolMappers.find((m) => m.protocolMapper === kind)!.config;
    expect(by('oidc-audience-mapper')['included.custom.audience']).toBe(NETWORK_AUDIENCE);
    expect(by('oidc-usermodel-attribute-mapper')).toMatchObject({ 'claim.name': AGENCY_CLAIM, 'access.token.claim': 'true', multivalued: 'false' });
    expect(by('oidc-usermodel-realm-role-mapper')).toMatchObject({ 'claim.name': ROLES_CLAIM, 'access.token.claim': 'true', multivalued: 'true' });
    for (const client of realm.clients) expect(client.defaultClientScopes).toContain('lotse');
  });

  it('signs people in by code + PKCE only, with short-lived tokens, and ships no accounts', () => {
    expect(realm.accessTokenLifespan).toBeLessThanOrEqual(300);
    for (const client of realm.clients) {
      expect(client).toMatchObject({ publicClient: true, directAccessGrantsEnabled: false, implicitFlowEnabled: false });
      expect(client.attributes['pkce.code.challenge.method']).toBe('S256');
    }
    const cli = realm.clients.find((c) => c.clientId === CLI_CLIENT.clientId)!;
    expect(cli.redirectUris).toEqual([CLI_CLIENT.redirectUri]);
    expect(cli.attributes['tls.client.certificate.bound.access.tokens']).toBe('true');
    expect(realm.users).toEqual([]);
  });
});
