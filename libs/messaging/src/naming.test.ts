import { describe, expect, it } from 'vitest';
import { durableNameFor } from './durables.js';
import { eventSubject, InvalidSubjectTokenError, kebabCase, streamName, subjectMatches, subjectsAddressedTo } from './naming.js';

describe('naming', () => {
  it('names streams and subjects after the producing agency', () => {
    expect(streamName('kv-mayen-koblenz')).toBe('LOTSE_KV_MAYEN_KOBLENZ');
    expect(eventSubject('lotsenhaus', 'ReferralRouted', 'caritas-koblenz')).toBe('lotse.lotsenhaus.referral-routed.caritas-koblenz');
    expect(eventSubject('caritas-koblenz', 'referral-accepted')).toBe('lotse.caritas-koblenz.referral-accepted');
    expect(kebabCase('NewcomerDataReceived')).toBe('newcomer-data-received');
    expect(subjectsAddressedTo('lotsenhaus', 'caritas-koblenz')).toBe('lotse.lotsenhaus.*.caritas-koblenz');
    expect(subjectMatches(subjectsAddressedTo('lotsenhaus', 'caritas-koblenz'), eventSubject('lotsenhaus', 'ReferralWithdrawn', 'caritas-koblenz'))).toBe(true);
    expect(() => subjectsAddressedTo('lotsenhaus', '>')).toThrow(InvalidSubjectTokenError);
  });

  it('rejects ids that would change the meaning of a subject', () => {
    expect(() => eventSubject('a.b', 'X')).toThrow(InvalidSubjectTokenError);
    expect(() => eventSubject('a', 'X', '*')).toThrow(InvalidSubjectTokenError);
    expect(() => streamName('')).toThrow(InvalidSubjectTokenError);
  });

  it('gives each filter its own durable', () => {
    expect(durableNameFor('caritas', 'lotse.lotsenhaus.referral-routed.caritas')).toBe('caritas__referral-routed_caritas');
    expect(durableNameFor('caritas', 'lotse.lotsenhaus.*.caritas')).toBe('caritas__any_caritas');
    expect(durableNameFor('hub', 'lotse.caritas.>')).toBe('hub__all');
  });

  it('matches subjects against filters with NATS wildcards', () => {
    expect(subjectMatches('lotse.hub.*.caritas', 'lotse.hub.referral-routed.caritas')).toBe(true);
    expect(subjectMatches('lotse.hub.*.caritas', 'lotse.hub.referral-routed.awo')).toBe(false);
    expect(subjectMatches('lotse.caritas.>', 'lotse.caritas.referral-accepted.hub')).toBe(true);
    expect(subjectMatches('lotse.caritas.>', 'lotse.caritas')).toBe(false);
    expect(subjectMatches('lotse.a.x', 'lotse.a.x')).toBe(true);
    expect(subjectMatches('lotse.a.x', 'lotse.a.x.y')).toBe(false);
    expect(subjectMatches('lotse.a.*', 'lotse.a')).toBe(false);
  });
});
