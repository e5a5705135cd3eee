import { common } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { agreementAllows, hubAgreements, staticAgreements, type Agreement } from './agreements.js';

const { Purpose: P } = common;

const agreements: Agreement[] = [
  { senderType: 'foreign-office', recipientType: 'migration-services', purposes: [P.PURPOSE_MIGRATION_COUNSELLING] },
  { senderType: 'migration-services', recipientType: 'job-centre', purposes: [P.PURPOSE_LABOUR_MARKET_INTEGRATION, P.PURPOSE_LANGUAGE_COURSE] },
];

describe('the cooperation agreements rule', () => {
  it('allows a referral only for a purpose an agreement between the two agency types names', () => {
    expect(agreementAllows(agreements, 'foreign-office', 'migration-services', P.PURPOSE_MIGRATION_COUNSELLING)).toBe(true);
    expect(agreementAllows(agreements, 'migration-services', 'job-centre', P.PURPOSE_LANGUAGE_COURSE)).toBe(true);
    expect(agreementAllows(agreements, 'foreign-office', 'migration-services', P.PURPOSE_LANGUAGE_COURSE)).toBe(false);
  });

  it('is directed: an agreement from A to B does not let B refer to A', () => {
    expect(agreementAllows(agreements, 'migration-services', 'foreign-office', P.PURPOSE_MIGRATION_COUNSELLING)).toBe(false);
    expect(agreementAllows(agreements, 'job-centre', 'migration-services', P.PURPOSE_LANGUAGE_COURSE)).toBe(false);
  });

  it('allows nothing without agreements', () => {
    expect(agreementAllows([], 'foreign-office', 'migration-services', P.PURPOSE_MIGRATION_COUNSELLING)).toBe(false);
  });
});

describe('agreement sources', () => {
  it('fixed agreements answer as given', async () => {
    await expect(staticAgreements(agreements).agreements()).resolves.toEqual(agreements);
  });

  it("the hub's are UNAVAILABLE without its address, before any call", async () => {
    const source = hubAgreements({ hubAddress: undefined, hubAgencyId: 'hub', identity: { ca: Buffer.alloc(0), cert: Buffer.alloc(0), key: Buffer.alloc(0) } as never });
    await expect(source.agreements()).rejects.toMatchObject({ message: expect.stringContaining('HUB_ADDRESS') });
  });
});
