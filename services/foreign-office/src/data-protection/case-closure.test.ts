import { common } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import type { ConsentTerms } from '../domain/consent.js';
import { caseClosure } from './case-closure.js';

const { ReferralStatus } = common;
const d = (iso: string) => new Date(iso);
const now = d('2026-11-21T12:00:00Z');
const consent = (overrides: Partial<ConsentTerms> = {}): ConsentTerms => ({
  consentId: 'c-1',
  recipients: ['migration-services'],
  purposes: [1],
  dataCategories: [1],
  expiresAt: null,
  withdrawnAt: null,
  grantedAt: d('2025-01-10T09:00:00Z'),
  ...overrides,
});

describe('when a newcomer’s case counts as closed for retention', () => {
  it('is closed without consent and referrals, counting from registration', () => {
    expect(caseClosure(d('2024-03-01T00:00:00Z'), [], [], now)).toEqual({ closed: true, lastActivity: d('2024-03-01T00:00:00Z') });
  });

  it('stays open while a consent is in force or a referral is under way', () => {
    expect(caseClosure(d('2024-03-01T00:00:00Z'), [consent()], [], now).closed).toBe(false);
    const pending = [{ status: ReferralStatus.REFERRAL_STATUS_PENDING, updated_at: d('2025-02-01T00:00:00Z') }];
    expect(caseClosure(d('2024-03-01T00:00:00Z'), [], pending, now).closed).toBe(false);
  });

  it('closes when the consent was withdrawn or expired and referrals ended; the last of these counts', () => {
    const withdrawn = consent({ withdrawnAt: d('2025-06-01T00:00:00Z') });
    const started = [{ status: ReferralStatus.REFERRAL_STATUS_COUNSELLING_STARTED, updated_at: d('2025-03-01T00:00:00Z') }];
    expect(caseClosure(d('2024-03-01T00:00:00Z'), [withdrawn], started, now)).toEqual({ closed: true, lastActivity: d('2025-06-01T00:00:00Z') });
    const expired = consent({ expiresAt: d('2026-01-01T00:00:00Z') });
    expect(caseClosure(d('2024-03-01T00:00:00Z'), [expired], started, now)).toEqual({ closed: true, lastActivity: d('2026-01-01T00:00:00Z') });
  });
});
