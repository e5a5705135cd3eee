import { describe, expect, it } from 'vitest';
import { toConfig } from './config.js';

describe('console config: sign-in', () => {
  it('signs people in only with OIDC_ISSUER, with the network audience and the console client by default', () => {
    expect(toConfig({}).signIn).toBeUndefined();
    expect(toConfig({ OIDC_ISSUER: 'http://127.0.0.1:50040', CONSOLE_URL: 'https://console.example/' }).signIn).toEqual({
      issuer: 'http://127.0.0.1:50040',
      audience: 'urn:lotse:network',
      clientId: 'lotse-console',
      publicUrl: 'https://console.example',
    });
  });

  it('stops at a bad issuer or console address, naming the variable', () => {
    expect(() => toConfig({ OIDC_ISSUER: 'issuer.example' })).toThrow(/^config: OIDC_ISSUER must be the issuer's http\(s\) URL/);
    expect(() => toConfig({ OIDC_ISSUER: 'https://issuer.example', CONSOLE_URL: 'https://console.example/app' })).toThrow(/^config: CONSOLE_URL must be the console's http\(s\) origin without a path/);
  });
});
