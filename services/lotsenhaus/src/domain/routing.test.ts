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

  it('prefers a provider that speaks a language of the newcomer where providers list their languages', () => {
    const request = { municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'] };
    // Caritas Koblenz lists languages without Farsi; AWO lists none, so it is not ruled out.
    expect(route({ ...request, languages: ['fa'] }, directory.providers, new Map([['awo-rheinland', 9]])).providerId).toBe('awo-rheinland');
    expect(route({ ...request, languages: ['uk'] }, directory.providers, new Map([['awo-rheinland', 9]])).providerId).toBe('caritas-koblenz');
  });
});

describe('routing by the languages the newcomer speaks', () => {
  const area = [{ municipalities: ['koblenz'], ageGroups: [AgeGroup.AGE_GROUP_ADULT] }];
  const provider = (providerId: string, languages: string[]) => ({
    providerId,
    name: providerId,
    agencyType: 'migration-services',
    purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
    languages,
    agreements: area,
  });
  // "a-arabic" wins every tie by id: only the languages can send a referral past it.
  const providers = [provider('a-arabic', ['de', 'ar']), provider('b-ukrainian', ['de', 'uk']), provider('c-ukrainian', ['uk', 'ru'])];
  const request = { municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'] };

  it('routes a newcomer speaking uk to staff who speak uk, not to a provider that does not', () => {
    expect(route(request, providers, none).providerId).toBe('a-arabic');
    expect(route({ ...request, languages: ['uk'] }, providers, none)).toMatchObject({ providerId: 'b-ukrainian', reason: 'agreement', skipped: [] });
    // Among those that speak it, the fewest waiting referrals still decide.
    expect(route({ ...request, languages: ['uk'] }, providers, new Map([['b-ukrainian', 2]])).providerId).toBe('c-ukrainian');
    // Any one shared language is enough.
    expect(route({ ...request, languages: ['ru', 'fa'] }, providers, none).providerId).toBe('c-ukrainian');
  });

  it('keeps to the languages when it re-routes after a decline', () => {
    expect(route({ ...request, languages: ['uk'], excluded: new Set(['b-ukrainian']) }, providers, none).providerId).toBe('c-ukrainian');
  });

  it('still routes when no provider with capacity speaks a language of the newcomer, and never names the languages', () => {
    const d = route({ ...request, languages: ['fa'] }, providers, none);
    expect(d).toMatchObject({ providerId: 'a-arabic', reason: 'agreement' });
    expect(JSON.stringify(d)).not.toContain('fa');
    // The only uk-speaking providers declined or are full: routed to the one left rather than nowhere.
    const capacity = new Map([['c-ukrainian', new Map([[CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, 0]])]]);
    expect(route({ ...request, languages: ['uk'], excluded: new Set(['b-ukrainian']) }, providers, none, { capacity }).providerId).toBe('a-arabic');
  });

  it('leaves the newcomer’s own choice above the languages', () => {
    expect(route({ ...request, languages: ['uk'], preferredProviderId: 'a-arabic' }, providers, none)).toMatchObject({ providerId: 'a-arabic', reason: 'preferred' });
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
