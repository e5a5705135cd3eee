import { describe, expect, it } from 'vitest';
import { common } from '@lotse/contracts';
import { renderFact, requestedSummaryAfterErasure, stepText, type RenderContext } from './timeline-facts.js';

const names: Record<string, string> = { 'caritas-koblenz': 'Caritas', 'kv-mayen-koblenz': 'ABH' };
const ctx: RenderContext = { nameOf: (id) => names[id] ?? id };
const held = { ...ctx, referral: { municipality: 'koblenz', ageGroup: common.AgeGroup.AGE_GROUP_ADULT, consentWithdrawn: false } };

describe('timeline steps rendered from their facts', () => {
  it('a request with the routing facts the hub holds, and without them once the consent is withdrawn', () => {
    const fact = { kind: 'requested', referralType: 1, purpose: common.Purpose.PURPOSE_MIGRATION_COUNSELLING, by: '' } as const;
    expect(renderFact(fact, held)).toBe('Referral to migration counselling requested (koblenz, AGE_GROUP_ADULT)');
    expect(renderFact({ ...fact, referralType: common.ReferralType.REFERRAL_TYPE_TRANSFER, by: 'caritas-koblenz' }, ctx)).toBe('Transfer to migration counselling requested by Caritas');
    expect(renderFact(fact, { ...ctx, referral: { ...held.referral, consentWithdrawn: true } })).toBe(requestedSummaryAfterErasure);
  });

  it('the steps of routing, answers and withdrawals, with the directory’s names', () => {
    expect(renderFact({ kind: 'routed', provider: 'caritas-koblenz', reason: 'preferred', reRouted: false }, ctx)).toBe("Routed to Caritas (newcomer's choice)");
    expect(renderFact({ kind: 'routed', provider: 'caritas-koblenz', reason: 'agreement', reRouted: true }, ctx)).toBe('Decline confirmed; re-routed to Caritas (cooperation agreement)');
    expect(renderFact({ kind: 'skipped', provider: 'caritas-koblenz', reason: 'no free counselling slots' }, ctx)).toBe('Skipped caritas-koblenz: no free counselling slots');
    expect(renderFact({ kind: 'escalated', provider: 'caritas-koblenz' }, ctx)).toBe('Referral expired: not answered by Caritas in time; escalated to the coordination');
    expect(renderFact({ kind: 'declined', provider: 'caritas-koblenz', reason: common.DeclineReason.DECLINE_REASON_NO_CAPACITY }, ctx)).toBe('Declined by Caritas: DECLINE_REASON_NO_CAPACITY');
    expect(renderFact({ kind: 'consent-withdrawn', receivedBy: 'caritas-koblenz', closed: 1, asked: [] }, ctx)).toBe('Consent withdrawn (at Caritas); 1 referral(s) closed; erasure requested from no other agency');
    expect(renderFact({ kind: 'erasure-confirmed', by: 'caritas-koblenz', erased: [], retained: [] }, ctx)).toBe('Erasure confirmed by Caritas: erased nothing held; kept nothing');
    expect(renderFact({ kind: 'withdrawn-by-referrer', by: 'kv-mayen-koblenz' }, ctx)).toBe('Referral withdrawn by ABH');
  });

  it('the job centre’s steps', () => {
    expect(renderFact({ kind: 'jc-placement', type: 3, startDate: '2026-12-01', endDate: '' }, ctx)).toBe('Placement recorded: job from 2026-12-01');
    expect(renderFact({ kind: 'jc-funding', decision: 1, assessedLevel: 2, targetLevel: 3, courseStart: '2027-01-04', refusalReason: 0 }, ctx)).toBe('Funding decided: language course A2 → B1 funded, starting 2027-01-04');
    expect(renderFact({ kind: 'jc-closed', closedOn: '2027-03-01', outcome: 1 }, ctx)).toBe('Job centre case closed on 2027-03-01: employed');
  });

  it('a step stored as text (a desk step, or one from before facts) reads as stored; any request under a withdrawn consent as erased', () => {
    expect(stepText({ kind: '', facts: {}, summary: 'Intake at the one-stop desk', event_type: 'IntakeRecorded' }, ctx)).toBe('Intake at the one-stop desk');
    const erased = { ...ctx, referral: { municipality: '', ageGroup: 0, consentWithdrawn: true } };
    expect(stepText({ kind: '', facts: {}, summary: 'Referred on from the Lotsenhaus for x', event_type: 'ReferralRequested' }, erased)).toBe(requestedSummaryAfterErasure);
    expect(stepText({ kind: 'closed-on-arrival', facts: {}, summary: '', event_type: 'ReferralRequested' }, erased)).toBe('Referral requested under a consent already withdrawn; not routed');
    expect(stepText({ kind: 'accepted', facts: { provider: 'caritas-koblenz' }, summary: '', event_type: 'ReferralAccepted' }, ctx)).toBe('Accepted by Caritas');
  });
});
