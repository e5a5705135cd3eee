import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { common } from '@lotse/contracts';
import { loadDirectory } from './directory.js';
import { route } from './routing.js';

const { AgeGroup } = common;
const directory = loadDirectory(fileURLToPath(new URL('../directory/koblenz-region.json', import.meta.url)));
const none = new Map<string, number>();

describe('routing by cooperation agreement and consent', () => {
  it('sends adults in Andernach to Caritas Rhein-Mosel-Ahr and youth to the AWO youth migration service', () => {
    const adult = route({ municipality: 'andernach', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'] }, directory.providers, none);
    expect(adult).toEqual({ providerId: 'caritas-rhein-mosel-ahr', reason: 'agreement' });
    const youth = route({ municipality: 'andernach', ageGroup: AgeGroup.AGE_GROUP_YOUTH, consentedRecipients: ['migration-services'] }, directory.providers, none);
    expect(youth.providerId).toBe('awo-rheinland');
  });
  it('honours the newcomer’s choice when that provider is eligible', () => {
    const decision = route(
      { municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, consentedRecipients: ['migration-services'], preferredProviderId: 'awo-rheinland' },
      directory.providers,
      none,
    );
    expect(decision).toEqual({ providerId: 'awo-rheinland', reason: 'preferred' });
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
