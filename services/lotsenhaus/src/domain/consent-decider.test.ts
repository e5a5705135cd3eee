import { describe, expect, it } from 'vitest';
import { common, envelope, events } from '@lotse/contracts';
import { decideConsentWithdrawal, decideErasureConfirmation } from './consent-decider.js';
import { evolveAll, type ReferralState } from './referral-lifecycle.js';

const { ReferralStatus: S, DataCategory } = common;
const now = new Date('2026-12-02T10:00:00Z');
const owner = 'kv-mayen-koblenz';

const env = (producer: string, eventType: string) => envelope.Envelope.fromPartial({ eventId: `e-${eventType}`, eventType, producerAgencyId: producer, caseRef: 'C-1', occurredAt: now });

const referral = (id: string, status: number, provider: string | null, over: Partial<ReferralState> = {}): ReferralState => ({
  referral_id: id,
  case_ref: 'C-1',
  referrer_agency_id: owner,
  provider_id: provider,
  status,
  purpose: 1,
  consent_id: 'K-1',
  consented_recipients: ['migration-services'],
  municipality: 'andernach',
  age_group: 3,
  preferred_provider_id: null,
  decline_reason: 0,
  requested_at: now,
  updated_at: now,
  type: 1,
  sender_type: 'foreign-office',
  recipient_type: '',
  owner_agency_id: owner,
  declined_by: [],
  outcome: 0,
  expires_at: null,
  escalated_at: null,
  languages: [],
  ...over,
});

const withdrawal = (recipientsKnown: string[] = []) => events.ConsentWithdrawn.fromPartial({ consentId: 'K-1', caseRef: 'C-1', receivedByAgencyId: 'caritas-koblenz', recipientsKnown, withdrawnAt: now });
const withdraw = (referrals: ReferralState[], recipientsKnown: string[] = [], alreadyKnown = false) =>
  decideConsentWithdrawal({ msg: withdrawal(recipientsKnown), env: env(owner, 'ConsentWithdrawn'), now, alreadyKnown, referrals }, 'lotsenhaus');

describe('a consent withdrawn', () => {
  it('closes the open referrals, tells the provider of a pending one, erases the routing facts and asks every recipient once', () => {
    const referrals = [
      referral('R-1', S.REFERRAL_STATUS_PENDING, 'caritas-koblenz'),
      referral('R-2', S.REFERRAL_STATUS_COMPLETED, 'jobcenter-koblenz', { languages: ['uk'] }),
      referral('R-3', S.REFERRAL_STATUS_ACCEPTED, 'lotsenhaus'),
    ];
    const d = withdraw(referrals, ['jobcenter-koblenz', 'awo-rheinland', owner]);
    const after = evolveAll(new Map(referrals.map((r) => [r.referral_id, r])), d.changes);
    expect(after.get('R-1')).toMatchObject({ status: S.REFERRAL_STATUS_WITHDRAWN, municipality: '', age_group: 0 });
    expect(after.get('R-2')).toMatchObject({ status: S.REFERRAL_STATUS_COMPLETED, languages: [], municipality: '' });
    expect(after.get('R-3')!.status).toBe(S.REFERRAL_STATUS_WITHDRAWN);
    expect(d.erased).toEqual({ categories: [DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP], referralIds: ['R-1', 'R-2', 'R-3'] });
    expect(d.caseIndex.map((c) => [c.referralId, c.set])).toContainEqual(['R-2', { status: S.REFERRAL_STATUS_WITHDRAWN, currentAgencyId: owner, municipality: '', ageGroup: 0, updatedAt: now }]);
    // Not the hub itself, not the owner; each recipient once, in order.
    expect(d.askedToErase).toEqual(['awo-rheinland', 'caritas-koblenz', 'jobcenter-koblenz']);
    expect(d.publish.map((p) => [p.type, p.audience])).toEqual([
      ['ReferralWithdrawn', 'caritas-koblenz'],
      ['ErasureRequested', 'awo-rheinland'],
      ['ErasureRequested', 'caritas-koblenz'],
      ['ErasureRequested', 'jobcenter-koblenz'],
    ]);
    expect(d.publish[0]!.message).toMatchObject({ consentId: 'K-1', withdrawnAt: now });
    expect(d.timeline).toEqual([
      expect.objectContaining({ eventId: 'e-ConsentWithdrawn', referralId: 'R-1', agencyId: owner, fact: { kind: 'consent-withdrawn', receivedBy: 'caritas-koblenz', closed: 3, asked: d.askedToErase } }),
    ]);
  });

  it('with nothing held under it: nothing erased here, the known recipients still asked', () => {
    const d = withdraw([], ['caritas-koblenz']);
    expect(d.erased).toBeUndefined();
    expect(d.changes).toEqual([]);
    expect(d.askedToErase).toEqual(['caritas-koblenz']);
    expect(d.timeline[0]).toMatchObject({ referralId: '', fact: { closed: 0 } });
  });

  it('is refused when the hub knows the withdrawal already (a redelivery)', () => {
    expect(withdraw([referral('R-1', S.REFERRAL_STATUS_PENDING, 'caritas-koblenz')], [], true)).toMatchObject({ refused: { reason: 'duplicate' }, publish: [], askedToErase: [] });
  });
});

describe('an erasure confirmed', () => {
  const confirmed = events.ErasureConfirmed.fromPartial({ consentId: 'K-1', agency: 'caritas-koblenz', erasedCategories: [1], retained: [{ category: 2, statute: '§ 257 HGB' }], confirmedAt: now });
  const confirm = (producer: string, request?: { confirmed_at: Date | null }) => decideErasureConfirmation({ msg: confirmed, env: env(producer, 'ErasureConfirmed'), now, request, firstReferralId: 'R-1' });

  it('is recorded with what the recipient erased and what it keeps by statute', () => {
    const d = confirm('caritas-koblenz', { confirmed_at: null });
    expect(d.confirmation).toEqual({ confirmedAt: now, erasedCategories: [1], retained: [{ category: 2, statute: '§ 257 HGB' }] });
    expect(d.timeline[0]).toMatchObject({ referralId: 'R-1', fact: { kind: 'erasure-confirmed', by: 'caritas-koblenz', erased: [1] } });
  });

  it("is refused in another agency's name, without a request, and once confirmed", () => {
    expect(confirm('awo-rheinland', { confirmed_at: null }).refused?.reason).toBe('foreign-producer');
    expect(confirm('caritas-koblenz').refused?.reason).toBe('no-request');
    expect(confirm('caritas-koblenz', { confirmed_at: now })).toMatchObject({ refused: { reason: 'duplicate' }, timeline: [] });
  });
});
