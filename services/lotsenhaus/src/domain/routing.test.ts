import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { common } from '@lotse/contracts';
import { agreementAllows, loadDirectory, recipientTypesFor } from './directory.js';
import { route } from './routing.js';

const { AgeGroup, Purpose, CapacityKind } = common;
const directory = loadDirectory(fileURLToPath(new URL('../directory/koblenz-region.json', import.meta.url)));
const none = new Map<string, number>();
const withAgreements = { agreements: directory.agreements };

describe('routing by cooperation agreement and consent', () => {
  it('sends adults in Andernach to Caritas Rhein-Mosel-Ahr and youth to the AWO youth migration service', () => {
    const adult = route({ municipality: 'andernach', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'] }, directory.providers, none);
    expect(adult).toMatchObject({ providerId: 'caritas-rhein-mosel-ahr', reason: 'agreement' });
    const youth = route({ municipality: 'andernach', ageGroup: AgeGroup.AGE_GROUP_YOUTH, consentedRecipients: ['migration-services'] }, directory.providers, none);
    expect(youth.providerId).toBe('awo-rheinland');
  });
  it('honours the newcomer’s choice when that provider is eligible', () => {
    const decision = route(
      { municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'], preferredProviderId: 'awo-rheinland' },
      directory.providers,
      none,
    );
    expect(decision).toMatchObject({ providerId: 'awo-rheinland', reason: 'preferred' });
  });
  it('balances between eligible providers by waiting referrals', () => {
    const request = { municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'] };
    expect(route(request, directory.providers, none).providerId).toBe('awo-rheinland');
    expect(route(request, directory.providers, new Map([['awo-rheinland', 3]])).providerId).toBe('caritas-koblenz');
  });
  it('routes only to providers the consent names', () => {
    const decision = route({ municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['caritas-koblenz'] }, directory.providers, none);
    expect(decision.providerId).toBe('caritas-koblenz');
    const refused = route({ municipality: 'mayen', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['caritas-koblenz'] }, directory.providers, none);
    expect(refused.providerId).toBeUndefined();
    expect(refused.reason).toMatch(/consent names none/);
  });
  it('finds no provider for children or areas without an agreement', () => {
    expect(route({ municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_CHILD, consentedRecipients: ['migration-services'] }, directory.providers, none).reason).toMatch(
      /no cooperation agreement covers koblenz for AGE_GROUP_CHILD/,
    );
  });
});

describe('cooperation agreements between agency types', () => {
  it('connects exactly the pairs of the Koblenz agreements', () => {
    const a = directory.agreements;
    expect(agreementAllows(a, 'foreign-office', 'migration-services', Purpose.PURPOSE_MIGRATION_COUNSELLING)).toBe(true);
    expect(agreementAllows(a, 'migration-services', 'job-centre', Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION)).toBe(true);
    expect(agreementAllows(a, 'migration-services', 'job-centre', Purpose.PURPOSE_LANGUAGE_COURSE)).toBe(true);
    expect(agreementAllows(a, 'migration-services', 'lotsenhaus', Purpose.PURPOSE_COMPETENCE_ASSESSMENT)).toBe(true);
    expect(agreementAllows(a, 'lotsenhaus', 'migration-services', Purpose.PURPOSE_MIGRATION_COUNSELLING)).toBe(true);
    expect(agreementAllows(a, 'job-centre', 'lotsenhaus', Purpose.PURPOSE_JOB_PLACEMENT)).toBe(true);
    expect(agreementAllows(a, 'lotsenhaus', 'job-centre', Purpose.PURPOSE_COMPETENCE_ASSESSMENT)).toBe(true);
    // Not connected: the foreign office does not refer to the job centre; the job centre not to migration services.
    expect(agreementAllows(a, 'foreign-office', 'job-centre', Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION)).toBe(false);
    expect(agreementAllows(a, 'job-centre', 'migration-services', Purpose.PURPOSE_MIGRATION_COUNSELLING)).toBe(false);
    expect(agreementAllows(a, 'migration-services', 'job-centre', Purpose.PURPOSE_MIGRATION_COUNSELLING)).toBe(false);
    expect(recipientTypesFor(a, 'migration-services', Purpose.PURPOSE_COMPETENCE_ASSESSMENT)).toEqual(['lotsenhaus']);
  });

  it('routes an onward referral to the job centre of the municipality', () => {
    const base = { ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services', 'job-centre'], purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, senderType: 'migration-services', recipientType: 'job-centre' };
    expect(route({ ...base, municipality: 'mayen' }, directory.providers, none, withAgreements).providerId).toBe('jobcenter-mayen-koblenz');
    expect(route({ ...base, municipality: 'koblenz' }, directory.providers, none, withAgreements).providerId).toBe('jobcenter-koblenz');
  });

  it('refuses a pair no agreement connects, naming the pair', () => {
    const d = route(
      { municipality: 'mayen', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['job-centre'], purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, senderType: 'foreign-office', recipientType: 'job-centre' },
      directory.providers,
      none,
      withAgreements,
    );
    expect(d.providerId).toBeUndefined();
    expect(d.reason).toMatch(/no cooperation agreement lets foreign-office refer to job-centre/);
  });

  it('filters by purpose: migration services do not take labour-market referrals', () => {
    const d = route({ municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'], purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION }, directory.providers, none);
    expect(d.providerId).toBeUndefined();
  });

  it('filters by language where a provider lists its languages', () => {
    const request = { municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'] };
    // Caritas Koblenz lists languages without Farsi; AWO lists none, so it is not filtered.
    expect(route({ ...request, languages: ['fa'] }, directory.providers, new Map([['awo-rheinland', 9]])).providerId).toBe('awo-rheinland');
    expect(route({ ...request, languages: ['uk'] }, directory.providers, new Map([['awo-rheinland', 9]])).providerId).toBe('caritas-koblenz');
  });
});

describe('re-routing and capacity', () => {
  const request = { municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'] };
  it('never routes again to a provider that declined', () => {
    expect(route({ ...request, excluded: new Set(['awo-rheinland']) }, directory.providers, none).providerId).toBe('caritas-koblenz');
    const d = route({ ...request, excluded: new Set(['awo-rheinland', 'caritas-koblenz']) }, directory.providers, none);
    expect(d.providerId).toBeUndefined();
    expect(d.reason).toMatch(/every provider .* has declined/);
  });
  it('skips a provider without free counselling slots and says so', () => {
    const capacity = new Map([['awo-rheinland', new Map([[CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, 0]])]]);
    const d = route(request, directory.providers, none, { capacity });
    expect(d.providerId).toBe('caritas-koblenz');
    expect(d.skipped).toEqual([{ providerId: 'awo-rheinland', reason: 'no free counselling slots' }]);
    // The newcomer's choice does not override a full provider.
    expect(route({ ...request, preferredProviderId: 'awo-rheinland' }, directory.providers, none, { capacity }).providerId).toBe('caritas-koblenz');
    const full = new Map([...capacity, ['caritas-koblenz', new Map([[CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, 0]])]]);
    expect(route(request, directory.providers, none, { capacity: full })).toMatchObject({ providerId: undefined, reason: 'no eligible provider has free capacity' });
  });
});
