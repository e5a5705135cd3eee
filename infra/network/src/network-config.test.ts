import { describe, expect, it } from 'vitest';
import { toNetworkConfig } from './network-config.js';

describe('the launcher config', () => {
  it('signs people in unless LOTSE_SIGN_IN=0 says otherwise, and refuses another value naming the variable', () => {
    expect(toNetworkConfig({}).signIn).toBe(true);
    expect(toNetworkConfig({ LOTSE_SIGN_IN: '1' }).signIn).toBe(true);
    expect(toNetworkConfig({ LOTSE_SIGN_IN: '0' }).signIn).toBe(false);
    expect(() => toNetworkConfig({ LOTSE_SIGN_IN: 'yes' })).toThrow(/LOTSE_SIGN_IN/);
  });
});
