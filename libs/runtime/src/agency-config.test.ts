import { describe, expect, it } from 'vitest';
import { agencyConfig } from './agency-config.js';

const base = { AGENCY_ID: 'kv-test', OIDC_ISSUER: 'http://127.0.0.1:50040' };
const read = (env: Record<string, string>) => agencyConfig(env, { agencyType: 'foreign-office', defaultPort: 0 });

describe('the OpenID settings of a deployment', () => {
  it('takes unbound tokens unless OIDC_CERT_BOUND_TOKENS=required (a foreign IdP may not bind them)', () => {
    expect(read(base).oidc).toEqual({ issuer: base.OIDC_ISSUER, audience: 'urn:lotse:network', certificateBoundTokens: 'optional' });
    expect(read({ ...base, OIDC_CERT_BOUND_TOKENS: 'required' }).oidc?.certificateBoundTokens).toBe('required');
  });

  it('stops start-up on another value, naming the variable', () => {
    expect(() => read({ ...base, OIDC_CERT_BOUND_TOKENS: 'yes' })).toThrow(/OIDC_CERT_BOUND_TOKENS.*required, optional/);
  });
});
