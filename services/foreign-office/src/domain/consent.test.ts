import { describe, expect, it } from 'vitest';
import { common } from '@lotse/contracts';
import { covers, grantedCategories, newestCovering, type ConsentTerms } from './consent.js';

const { Purpose, DataCategory } = common;
const now = new Date('2026-11-21T12:00:00Z');
const consent = (over: Partial<ConsentTerms> = {}): ConsentTerms => ({
  consentId: 'c1',
  recipients: ['migration-services'],
  purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
  dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
  expiresAt: null,
  withdrawnAt: null,
  grantedAt: new Date('2026-11-01T00:00:00Z'),
  ...over,
});
const caritas = { agencyId: 'caritas-koblenz', agencyType: 'migration-services' };

describe('consent', () => {
  it('covers a recipient named by type or by id, for a consented purpose only', () => {
    expect(covers(consent(), caritas, Purpose.PURPOSE_MIGRATION_COUNSELLING, now)).toBe(true);
    expect(covers(consent({ recipients: ['caritas-koblenz'] }), caritas, Purpose.PURPOSE_MIGRATION_COUNSELLING, now)).toBe(true);
    expect(covers(consent({ recipients: ['awo-rheinland'] }), caritas, Purpose.PURPOSE_MIGRATION_COUNSELLING, now)).toBe(false);
    expect(covers(consent(), caritas, Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, now)).toBe(false);
    expect(covers(consent(), { agencyId: 'jobcenter-koblenz', agencyType: 'job-centre' }, Purpose.PURPOSE_MIGRATION_COUNSELLING, now)).toBe(false);
  });
  it('stops covering once expired or withdrawn', () => {
    expect(covers(consent({ expiresAt: new Date('2026-11-21T11:59:59Z') }), caritas, Purpose.PURPOSE_MIGRATION_COUNSELLING, now)).toBe(false);
    expect(covers(consent({ withdrawnAt: new Date('2026-11-20T00:00:00Z') }), caritas, Purpose.PURPOSE_MIGRATION_COUNSELLING, now)).toBe(false);
  });
  it('picks the newest consent in force for a purpose', () => {
    const older = consent({ consentId: 'old' });
    const newer = consent({ consentId: 'new', grantedAt: new Date('2026-11-10T00:00:00Z') });
    const withdrawn = consent({ consentId: 'gone', grantedAt: new Date('2026-11-15T00:00:00Z'), withdrawnAt: now });
    expect(newestCovering([older, newer, withdrawn], Purpose.PURPOSE_MIGRATION_COUNSELLING, now)?.consentId).toBe('new');
    expect(newestCovering([older], Purpose.PURPOSE_LANGUAGE_COURSE, now)).toBeUndefined();
  });
  it('grants only requested categories that the consent names', () => {
    const c = consent();
    expect(grantedCategories(c, [])).toEqual([DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES]);
    expect(grantedCategories(c, [DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_RESIDENCE_STATUS])).toEqual([
      DataCategory.DATA_CATEGORY_LANGUAGES,
    ]);
  });
});
