import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { common, envelope, events } from '@lotse/contracts';
import { agencyNames, agencyTypes, loadDirectory } from './directory.js';
import { decide, type HubRules, type RoutingLoad } from './referral-decider.js';
import { evolve, evolveAll, UnknownReferralError, type Decision, type ReferralState } from './referral-lifecycle.js';

const { ReferralStatus: S, AgeGroup, Purpose, CapacityKind } = common;
const directory = loadDirectory(fileURLToPath(new URL('../directory/koblenz-region.json', import.meta.url)));
const now = new Date('2026-12-02T10:00:00Z');
const later = new Date('2026-12-09T10:00:00Z');
const rules: HubRules = {
  agencyId: 'lotsenhaus',
  agencyType: 'lotsenhaus',
  providers: directory.providers,
  agreements: directory.agreements,
  agencyTypeOf: agencyTypes(directory),
  nameOf: agencyNames(directory),
  expiresAt: () => later,
};
const noLoad: RoutingLoad = { pending: new Map(), capacity: new Map() };
const fo = 'kv-mayen-koblenz';
const caritas = 'caritas-rhein-mosel-ahr';

const env = (producer: string, eventType: string, eventId = `e-${eventType}`) =>
  envelope.Envelope.fromPartial({ eventId, eventType, producerAgencyId: producer, caseRef: 'C-1', occurredAt: now });

const request = (over: Partial<events.ReferralRequested> = {}) =>
  events.ReferralRequested.fromPartial({
    referralId: 'R-1',
    caseRef: 'C-1',
    referrerAgencyId: fo,
    purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
    consentId: 'K-1',
    consentedRecipients: ['migration-services'],
    municipality: 'andernach',
    ageGroup: AgeGroup.AGE_GROUP_ADULT,
    requestedAt: now,
    ...over,
  });

const requested = (msg = request(), load = noLoad, extra: { consentWithdrawn?: boolean; earlier?: ReferralState; producer?: string } = {}) =>
  decide({ type: 'ReferralRequested', msg, env: env(extra.producer ?? msg.referrerAgencyId, 'ReferralRequested'), now, consentWithdrawn: !!extra.consentWithdrawn, earlier: extra.earlier, load }, undefined, rules);

/** The referral's state after a decision. */
const after = (d: Decision, before?: ReferralState) => evolveAll(new Map(before ? [[before.referral_id, before]] : []), d.changes).get(before?.referral_id ?? 'R-1')!;
/** A referral routed to Caritas Rhein-Mosel-Ahr, pending. */
const pending = () => after(requested());

const fromProvider = (type: 'ReferralReceived' | 'ReferralAccepted' | 'FirstContactRecorded' | 'ReferralCompleted' | 'NewcomerDataReceived', state: ReferralState | undefined, msg: object = {}, producer = caritas) => {
  const body = { referralId: 'R-1', providerId: producer, ...msg };
  const decoded = { ReferralReceived: events.ReferralReceived, ReferralAccepted: events.ReferralAccepted, FirstContactRecorded: events.FirstContactRecorded, ReferralCompleted: events.ReferralCompleted, NewcomerDataReceived: events.NewcomerDataReceived }[type].fromPartial(body);
  return decide({ type, msg: decoded, env: env(producer, type), now } as Parameters<typeof decide>[0], state, rules);
};

const declined = (state: ReferralState, producer = state.provider_id!, load = noLoad) =>
  decide({ type: 'ReferralDeclined', msg: events.ReferralDeclined.fromPartial({ referralId: 'R-1', providerId: producer, reason: common.DeclineReason.DECLINE_REASON_NO_CAPACITY }), env: env(producer, 'ReferralDeclined', `e-decl-${producer}`), now, load }, state, rules);

describe('a referral requested at the hub', () => {
  it('is routed by agreement: recorded, indexed, routed to the provider, the referrer told, the routing audited', () => {
    const d = requested();
    expect(d.refused).toBeUndefined();
    expect(d.changes.map((c) => c.event.type)).toEqual(['Requested', 'Routed']);
    expect(after(d)).toMatchObject({ status: S.REFERRAL_STATUS_PENDING, provider_id: caritas, expires_at: later, sender_type: 'foreign-office', owner_agency_id: fo });
    expect(d.caseIndex).toEqual([{ caseRef: 'C-1', referralId: 'R-1', mode: 'upsert', set: { status: S.REFERRAL_STATUS_PENDING, currentAgencyId: caritas, municipality: 'andernach', ageGroup: AgeGroup.AGE_GROUP_ADULT, escalated: false, updatedAt: now } }]);
    expect(d.publish.map((p) => [p.type, p.audience])).toEqual([['ReferralRouted', caritas], ['ReferralStatusChanged', fo]]);
    expect(d.publish[0]!.message).toMatchObject({ providerId: caritas, ageGroup: AgeGroup.AGE_GROUP_ADULT, routingReason: 'agreement', ownerAgencyId: fo });
    expect(d.timeline.map((t) => [t.eventId, t.fact.kind])).toEqual([['e-ReferralRequested', 'requested'], [{ published: 0 }, 'routed']]);
    expect(d.timeline[0]!.fact).toEqual({ kind: 'requested', referralType: common.ReferralType.REFERRAL_TYPE_REFERRAL, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, by: '' });
    expect(d.auditRouting).toMatchObject({ routedTo: caritas, request: { municipality: 'andernach' } });
  });

  it("honours the newcomer's choice", () => {
    const d = requested(request({ municipality: 'koblenz', preferredProviderId: 'caritas-koblenz' }));
    expect(d.timeline[1]!.fact).toEqual({ kind: 'routed', provider: 'caritas-koblenz', reason: 'preferred', reRouted: false });
  });

  it('skips providers without free capacity, on the timeline, and routes to the next', () => {
    const load = { pending: new Map(), capacity: new Map([['awo-rheinland', new Map([[CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, 0]])]]) };
    const d = requested(request({ municipality: 'koblenz' }), load);
    expect(d.timeline.map((t) => [t.eventId, t.eventType, t.fact])).toContainEqual(['R-1:skipped:0:0', 'ProviderSkipped', { kind: 'skipped', provider: 'awo-rheinland', reason: 'no free counselling slots' }]);
    expect(after(d).provider_id).toBe('caritas-koblenz');
  });

  it('an onward referral takes the routing facts, recipients, languages and owner of the earlier one under its consent, and the owner is told too', () => {
    const earlier = { ...pending(), referral_id: 'R-0', languages: ['uk'], consented_recipients: ['migration-services', 'job-centre'] };
    const msg = request({ referralId: 'R-1', referrerAgencyId: caritas, municipality: '', ageGroup: 0, consentedRecipients: [], recipientType: 'job-centre', purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION });
    const d = requested(msg, noLoad, { earlier });
    expect(after(d)).toMatchObject({ municipality: 'andernach', age_group: AgeGroup.AGE_GROUP_ADULT, languages: ['uk'], owner_agency_id: fo, provider_id: 'jobcenter-mayen-koblenz', sender_type: 'migration-services' });
    expect(d.timeline[0]!.fact).toMatchObject({ by: caritas });
    expect(d.publish.map((p) => [p.type, p.audience])).toEqual([['ReferralRouted', 'jobcenter-mayen-koblenz'], ['ReferralStatusChanged', caritas], ['ReferralStatusChanged', fo]]);
  });

  it('is unroutable where no agreement covers the case: the referrer told why, the step keyed by that message', () => {
    const d = requested(request({ ageGroup: AgeGroup.AGE_GROUP_CHILD }));
    expect(d.changes.map((c) => c.event.type)).toEqual(['Requested', 'Unroutable']);
    expect(after(d)).toMatchObject({ status: S.REFERRAL_STATUS_UNROUTABLE, provider_id: null, expires_at: null });
    expect(d.caseIndex[0]).toMatchObject({ mode: 'upsert', set: { status: S.REFERRAL_STATUS_UNROUTABLE, currentAgencyId: fo } });
    expect(d.publish).toHaveLength(1);
    expect(d.publish[0]!.message).toMatchObject({ status: S.REFERRAL_STATUS_UNROUTABLE, note: expect.stringMatching(/no cooperation agreement covers andernach/) });
    expect(d.timeline[1]).toMatchObject({ eventId: { published: 0 }, eventType: 'ReferralUnroutable', fact: { kind: 'unroutable' } });
    expect(d.auditRouting?.routedTo).toBeNull();
  });

  it('is unroutable where the flow table has no row for the routing event', () => {
    const d = decide({ type: 'ReferralRequested', msg: request(), env: env(fo, 'ReferralRequested'), now, consentWithdrawn: false, load: noLoad }, undefined, { ...rules, agencyType: 'no-such-agency-type' });
    expect(after(d).status).toBe(S.REFERRAL_STATUS_UNROUTABLE);
    expect(d.publish.map((p) => p.type)).toEqual(['ReferralStatusChanged']);
  });

  it('under a consent already withdrawn: recorded closed, never routed', () => {
    const d = requested(request(), noLoad, { consentWithdrawn: true });
    expect(after(d)).toMatchObject({ status: S.REFERRAL_STATUS_WITHDRAWN, municipality: '', age_group: 0 });
    expect(d.caseIndex[0]!.mode).toBe('insert-if-absent');
    expect(d.publish).toEqual([]);
    expect(d.timeline.map((t) => t.fact)).toEqual([{ kind: 'closed-on-arrival' }]);
  });

  it("is refused in another agency's name, and when it is known already", () => {
    expect(requested(request(), noLoad, { producer: caritas }).refused).toEqual({ reason: 'foreign-producer', warning: expect.any(String) });
    const again = decide({ type: 'ReferralRequested', msg: request(), env: env(fo, 'ReferralRequested'), now, consentWithdrawn: false, load: noLoad }, pending(), rules);
    expect(again).toMatchObject({ refused: { reason: 'duplicate' }, changes: [], publish: [], timeline: [] });
  });
});

describe("a provider's answers", () => {
  it('received, accepted, first contact: each moves the referral forward, tells the referrer and goes on the timeline', () => {
    const accepted = fromProvider('ReferralAccepted', pending());
    expect(accepted.changes).toEqual([{ referralId: 'R-1', event: { type: 'Advanced', status: S.REFERRAL_STATUS_ACCEPTED, at: now, declineReason: 0 } }]);
    expect(accepted.caseIndex[0]).toMatchObject({ mode: 'update', set: { status: S.REFERRAL_STATUS_ACCEPTED, currentAgencyId: caritas, escalated: false } });
    expect(accepted.publish[0]).toMatchObject({ type: 'ReferralStatusChanged', audience: fo, message: { status: S.REFERRAL_STATUS_ACCEPTED, providerId: caritas } });
    expect(accepted.timeline[0]!.fact).toEqual({ kind: 'accepted', provider: caritas });
    const started = fromProvider('FirstContactRecorded', after(accepted, pending()), { contactDate: '2026-12-03', channel: 1 });
    expect(started.changes[0]!.event).toMatchObject({ status: S.REFERRAL_STATUS_COUNSELLING_STARTED });
    expect(started.timeline[0]!.fact).toEqual({ kind: 'first-contact', date: '2026-12-03', channel: 1 });
  });

  it('a receipt of a referral already pending changes nothing but is on the timeline; a late answer never reopens a closed referral', () => {
    const received = fromProvider('ReferralReceived', pending());
    expect(received).toMatchObject({ changes: [], caseIndex: [], publish: [] });
    expect(received.timeline[0]!.fact).toEqual({ kind: 'received', provider: caritas });
    const closed = { ...pending(), status: S.REFERRAL_STATUS_WITHDRAWN };
    expect(fromProvider('ReferralAccepted', closed).changes).toEqual([]);
  });

  it('completed with an outcome: recorded; without one: refused', () => {
    const started = { ...pending(), status: S.REFERRAL_STATUS_COUNSELLING_STARTED };
    const done = fromProvider('ReferralCompleted', started, { outcome: 1 });
    expect(done.changes.map((c) => c.event)).toEqual([{ type: 'Advanced', status: S.REFERRAL_STATUS_COMPLETED, at: now, declineReason: 0 }, { type: 'OutcomeRecorded', outcome: 1 }]);
    expect(after(done, started)).toMatchObject({ status: S.REFERRAL_STATUS_COMPLETED, outcome: 1 });
    expect(fromProvider('ReferralCompleted', started, { outcome: 0 }).refused?.reason).toBe('no-outcome');
  });

  it('the consented data fetched: on the timeline only, from the provider it was routed to', () => {
    const d = fromProvider('NewcomerDataReceived', pending(), { ownerAgencyId: fo, categories: [1, 2] });
    expect(d).toMatchObject({ changes: [], publish: [], timeline: [{ fact: { kind: 'data-fetched', owner: fo, categories: [1, 2] } }] });
  });

  it('are refused from a provider the referral was not routed to, and for a referral the hub never had', () => {
    for (const type of ['ReferralReceived', 'ReferralAccepted', 'FirstContactRecorded', 'NewcomerDataReceived'] as const) {
      expect(fromProvider(type, pending(), {}, 'caritas-koblenz').refused?.reason).toBe('not-routed-to-producer');
      expect(fromProvider(type, undefined).refused?.reason).toBe('unknown-referral');
    }
    expect(declined(pending(), 'caritas-koblenz').refused?.reason).toBe('not-routed-to-producer');
  });
});

describe('a decline', () => {
  it('is confirmed and the referral re-routed, never back to the provider that declined', () => {
    const state = { ...pending(), municipality: 'koblenz', provider_id: 'awo-rheinland' };
    const d = declined(state);
    expect(d.timeline[0]!.fact).toEqual({ kind: 'declined', provider: 'awo-rheinland', reason: common.DeclineReason.DECLINE_REASON_NO_CAPACITY });
    expect(d.changes.map((c) => c.event.type)).toEqual(['Declined', 'Routed']);
    expect(after(d, state)).toMatchObject({ provider_id: 'caritas-koblenz', declined_by: ['awo-rheinland'], status: S.REFERRAL_STATUS_PENDING });
    expect(d.timeline[1]!.fact).toEqual({ kind: 'routed', provider: 'caritas-koblenz', reason: 'agreement', reRouted: true });
    expect(d.publish[1]!.message).toMatchObject({ note: 'declined by awo-rheinland; re-routed' });
  });

  it('with no provider left: unroutable, and the referrer told that the last one declined', () => {
    const d = declined(pending());
    expect(after(d, pending())).toMatchObject({ status: S.REFERRAL_STATUS_UNROUTABLE, declined_by: [caritas] });
    expect(d.timeline[1]!.fact).toEqual({ kind: 'unroutable', reason: `declined by ${caritas}; every provider whose agreement covers this case has declined it` });
    expect(d.timeline[1]!.eventId).toEqual({ published: 0 });
  });

  it('of a referral no longer pending is refused', () => {
    expect(declined({ ...pending(), status: S.REFERRAL_STATUS_ACCEPTED }).refused?.reason).toBe('not-pending');
  });
});

describe('a withdrawal by the referrer', () => {
  const withdraw = (state: ReferralState | undefined, producer = fo) =>
    decide({ type: 'ReferralWithdrawnByReferrer', msg: events.ReferralWithdrawnByReferrer.fromPartial({ referralId: 'R-1' }), env: env(producer, 'ReferralWithdrawnByReferrer'), now }, state, rules);

  it('closes the referral and tells the provider it was routed to (no consent to erase) and the referrer', () => {
    const d = withdraw(pending());
    expect(after(d, pending()).status).toBe(S.REFERRAL_STATUS_WITHDRAWN);
    expect(d.caseIndex[0]).toMatchObject({ mode: 'update', set: { status: S.REFERRAL_STATUS_WITHDRAWN, currentAgencyId: fo, escalated: false } });
    expect(d.publish.map((p) => [p.type, p.audience])).toEqual([['ReferralWithdrawn', caritas], ['ReferralStatusChanged', fo]]);
    expect(d.publish[0]!.message).toMatchObject({ consentId: '', withdrawnAt: now });
    expect(d.timeline[0]!.fact).toEqual({ kind: 'withdrawn-by-referrer', by: fo });
  });

  it('of a referral not yet routed tells only the referrer', () => {
    const d = withdraw({ ...pending(), provider_id: null, status: S.REFERRAL_STATUS_REQUESTED });
    expect(d.publish.map((p) => p.type)).toEqual(['ReferralStatusChanged']);
  });

  it('is refused from another agency, for an unknown referral, and for one closed already', () => {
    expect(withdraw(pending(), caritas).refused?.reason).toBe('not-referrer');
    expect(withdraw(undefined).refused?.reason).toBe('not-referrer');
    expect(withdraw({ ...pending(), status: S.REFERRAL_STATUS_COMPLETED }).refused).toEqual({ reason: 'not-open' });
  });
});

describe('the expiry clock', () => {
  const escalate = (state: ReferralState | undefined, at = later) => decide({ type: 'EscalateExpired', now: at }, state, rules);

  it('escalates a pending referral not answered in time, once, in the case list and on the timeline', () => {
    const d = escalate(pending());
    expect(d.changes).toEqual([{ referralId: 'R-1', event: { type: 'Escalated', at: later } }]);
    expect(d.caseIndex).toEqual([{ caseRef: 'C-1', referralId: 'R-1', mode: 'update', set: { escalated: true } }]);
    expect(d.publish[0]!.message).toMatchObject({ status: S.REFERRAL_STATUS_PENDING, note: expect.stringMatching(/^not answered by Caritasverband Rhein-Mosel-Ahr .* in time; escalated to the coordination$/) });
    expect(d.timeline[0]).toMatchObject({ eventId: { published: 0 }, eventType: 'ReferralEscalated', agencyId: 'lotsenhaus', fact: { kind: 'escalated', provider: caritas } });
    expect(escalate(after(d, pending())).refused?.reason).toBe('not-due');
  });

  it('leaves referrals not due: before expiry, not pending, unknown', () => {
    expect(escalate(pending(), now).refused?.reason).toBe('not-due');
    expect(escalate({ ...pending(), status: S.REFERRAL_STATUS_ACCEPTED }).refused?.reason).toBe('not-due');
    expect(escalate({ ...pending(), expires_at: null }).refused?.reason).toBe('not-due');
    expect(escalate(undefined).refused?.reason).toBe('not-due');
  });
});

describe('evolve', () => {
  it('applies each lifecycle event to the referral', () => {
    const r = pending();
    expect(evolve(r, { type: 'Unroutable', at: later })).toMatchObject({ provider_id: null, status: S.REFERRAL_STATUS_UNROUTABLE, updated_at: later, expires_at: null, escalated_at: null });
    expect(evolve({ ...r, escalated_at: now }, { type: 'Routed', providerId: 'x', at: later, expiresAt: later })).toMatchObject({ provider_id: 'x', status: S.REFERRAL_STATUS_PENDING, escalated_at: null, expires_at: later });
    expect(evolve(r, { type: 'Advanced', status: S.REFERRAL_STATUS_DECLINED, at: later, declineReason: 2 })).toMatchObject({ status: S.REFERRAL_STATUS_DECLINED, decline_reason: 2, updated_at: later });
    expect(evolve(r, { type: 'OutcomeRecorded', outcome: 3 }).outcome).toBe(3);
    expect(evolve(evolve(r, { type: 'Declined', by: 'a', reason: 1 }), { type: 'Declined', by: 'b', reason: 2 })).toMatchObject({ declined_by: ['a', 'b'], decline_reason: 2 });
    expect(evolve(r, { type: 'Withdrawn', at: later })).toMatchObject({ status: S.REFERRAL_STATUS_WITHDRAWN, updated_at: later });
    expect(evolve(r, { type: 'Escalated', at: later }).escalated_at).toEqual(later);
    expect(evolve({ ...r, languages: ['uk'] }, { type: 'RoutingFactsErased' })).toMatchObject({ municipality: '', age_group: 0, languages: [] });
    expect(evolve(undefined, { type: 'Requested', referral: r })).toBe(r);
  });

  it('refuses an event of a referral never requested, and never changes the state it is given', () => {
    expect(() => evolve(undefined, { type: 'Escalated', at: now })).toThrow(UnknownReferralError);
    const r = pending();
    const copy = structuredClone(r);
    evolve(r, { type: 'Declined', by: 'a', reason: 1 });
    expect(r).toEqual(copy);
  });
});
