// The hub's rules for one referral: what an incoming event (or the expiry clock) decides, given
// the referral's state and what the handler looked up. Pure: no database, no clock of its own.
import { common, events, isReferralStatusAdvance, type envelope } from '@lotse/contracts';
import { channel, FlowNotAllowedError, requireFlow } from '@lotse/flows';
import type { AgencyAgreement, ProviderEntry } from './directory.js';
import { emptyDecision, evolve, openStatuses, refuse, type Decision, type ReferralState, type TimelineStep } from './referral-lifecycle.js';
import { route, type CapacityMap, type RoutingDecision } from './routing.js';
import { escalationNote, type TimelineFact } from './timeline-facts.js';

const { ReferralStatus: S, DataCategory } = common;

/** What the decider knows of the network: the directory and the hub's own identity. */
export interface HubRules {
  agencyId: string;
  agencyType: string;
  providers: ProviderEntry[];
  agreements: readonly AgencyAgreement[];
  agencyTypeOf(agencyId: string): string | undefined;
  nameOf(agencyId: string): string;
  /** When a pending referral escalates, counted from its routing. */
  expiresAt(routedAt: Date): Date;
}

/** The load routing weighs: referrals waiting per provider, and free capacity as published. */
export interface RoutingLoad {
  pending: ReadonlyMap<string, number>;
  capacity: CapacityMap;
}

interface Incoming<T> {
  msg: T;
  env: envelope.Envelope;
  now: Date;
}

export type HubInput =
  | ({ type: 'ReferralRequested'; consentWithdrawn: boolean; earlier?: ReferralState; load: RoutingLoad } & Incoming<events.ReferralRequested>)
  | ({ type: 'ReferralWithdrawnByReferrer' } & Incoming<events.ReferralWithdrawnByReferrer>)
  | ({ type: 'ReferralReceived' } & Incoming<events.ReferralReceived>)
  | ({ type: 'ReferralAccepted' } & Incoming<events.ReferralAccepted>)
  | ({ type: 'ReferralDeclined'; load: RoutingLoad } & Incoming<events.ReferralDeclined>)
  | ({ type: 'ReferralCompleted' } & Incoming<events.ReferralCompleted>)
  | ({ type: 'FirstContactRecorded' } & Incoming<events.FirstContactRecorded>)
  | ({ type: 'NewcomerDataReceived' } & Incoming<events.NewcomerDataReceived>)
  | { type: 'EscalateExpired'; now: Date };

const stepOf = (env: envelope.Envelope, referralId: string, now: Date, fact: TimelineFact): TimelineStep => ({
  eventId: env.eventId,
  caseRef: env.caseRef,
  referralId,
  eventType: env.eventType,
  agencyId: env.producerAgencyId,
  occurredAt: env.occurredAt ?? now,
  fact,
});

/**
 * Tells the referrer where its referral stands — and the data owner as well where another agency
 * referred on: the owner discloses personal data only to the agency a referral is with, and
 * learns that only from here. Returns the index of the referrer's message (the timeline keys steps by it).
 */
function notify(d: Decision, r: ReferralState, now: Date, change: Partial<events.ReferralStatusChanged>): number {
  const message = events.ReferralStatusChanged.fromPartial({ referralId: r.referral_id, caseRef: r.case_ref, changedAt: now, purpose: r.purpose, referrerAgencyId: r.referrer_agency_id, ...change });
  const index = d.publish.push({ type: 'ReferralStatusChanged', message, audience: r.referrer_agency_id }) - 1;
  if (r.owner_agency_id && r.owner_agency_id !== r.referrer_agency_id) d.publish.push({ type: 'ReferralStatusChanged', message, audience: r.owner_agency_id });
  return index;
}

/**
 * Routes a referral (first time, or again after a decline) to the next suitable provider — never
 * one that declined it —, skipping providers without capacity, and says so on the timeline; none
 * left → unroutable.
 */
function routeInto(d: Decision, r: ReferralState, rules: HubRules, load: RoutingLoad, now: Date, how: { audit?: events.ReferralRequested; declinedBy?: string }) {
  let decision: RoutingDecision = route(
    {
      municipality: r.municipality,
      ageGroup: r.age_group,
      consentedRecipients: r.consented_recipients,
      preferredProviderId: r.preferred_provider_id ?? undefined,
      purpose: r.purpose,
      senderType: r.sender_type,
      recipientType: r.recipient_type || undefined,
      languages: r.languages,
      excluded: new Set(r.declined_by),
    },
    rules.providers,
    load.pending,
    { agreements: rules.agreements, capacity: load.capacity },
  );
  const providerId = decision.providerId;
  if (providerId) {
    // The routing event carries the age group: only where the flow table has a row for it.
    try {
      requireFlow({ sender: rules.agencyType, recipient: rules.agencyTypeOf(providerId) ?? '', channel: channel.event('ReferralRouted'), purpose: r.purpose, categories: [DataCategory.DATA_CATEGORY_AGE_GROUP] });
    } catch (error) {
      if (!(error instanceof FlowNotAllowedError)) throw error;
      decision = { providerId: undefined, reason: error.message, skipped: decision.skipped };
    }
  }
  if (how.audit) d.auditRouting = { request: how.audit, routedTo: decision.providerId ?? null };
  const own = (eventId: TimelineStep['eventId'], eventType: string, fact: TimelineFact): TimelineStep => ({ eventId, caseRef: r.case_ref, referralId: r.referral_id, eventType, agencyId: rules.agencyId, occurredAt: now, fact });
  for (const [i, skip] of decision.skipped.entries()) {
    d.timeline.push(own(`${r.referral_id}:skipped:${r.declined_by.length}:${i}`, 'ProviderSkipped', { kind: 'skipped', provider: skip.providerId, reason: skip.reason }));
  }
  const index = { municipality: r.municipality, ageGroup: r.age_group, escalated: false, updatedAt: now };
  if (decision.providerId) {
    const to = decision.providerId;
    d.changes.push({ referralId: r.referral_id, event: { type: 'Routed', providerId: to, at: now, expiresAt: rules.expiresAt(now) } });
    d.caseIndex.push({ caseRef: r.case_ref, referralId: r.referral_id, mode: 'upsert', set: { status: S.REFERRAL_STATUS_PENDING, currentAgencyId: to, ...index } });
    const message = events.ReferralRouted.fromPartial({
      referralId: r.referral_id,
      caseRef: r.case_ref,
      referrerAgencyId: r.referrer_agency_id,
      providerId: to,
      purpose: r.purpose,
      consentId: r.consent_id,
      ageGroup: r.age_group,
      routingReason: decision.reason,
      routedAt: now,
      type: r.type,
      ownerAgencyId: r.owner_agency_id || r.referrer_agency_id,
    });
    const routed = d.publish.push({ type: 'ReferralRouted', message, audience: to }) - 1;
    d.timeline.push(own({ published: routed }, 'ReferralRouted', { kind: 'routed', provider: to, reason: decision.reason, reRouted: !!how.declinedBy }));
    notify(d, r, now, { status: S.REFERRAL_STATUS_PENDING, providerId: to, note: how.declinedBy ? `declined by ${how.declinedBy}; re-routed` : '' });
  } else {
    d.changes.push({ referralId: r.referral_id, event: { type: 'Unroutable', at: now } });
    d.caseIndex.push({ caseRef: r.case_ref, referralId: r.referral_id, mode: 'upsert', set: { status: S.REFERRAL_STATUS_UNROUTABLE, currentAgencyId: r.referrer_agency_id, ...index } });
    const reason = how.declinedBy ? `declined by ${how.declinedBy}; ${decision.reason}` : decision.reason;
    const sent = notify(d, r, now, { status: S.REFERRAL_STATUS_UNROUTABLE, note: reason });
    d.timeline.push(own({ published: sent }, 'ReferralUnroutable', { kind: 'unroutable', reason }));
  }
}

function requested(input: Extract<HubInput, { type: 'ReferralRequested' }>, state: ReferralState | undefined, rules: HubRules): Decision {
  const { msg, env, now } = input;
  if (msg.referrerAgencyId !== env.producerAgencyId) return refuse('foreign-producer', "referral requested in another agency's name; ignored");
  if (state) return refuse('duplicate');
  const base = {
    referral_id: msg.referralId,
    case_ref: msg.caseRef,
    referrer_agency_id: msg.referrerAgencyId,
    provider_id: null,
    consent_id: msg.consentId,
    preferred_provider_id: msg.preferredProviderId || null,
    decline_reason: 0,
    requested_at: msg.requestedAt ?? now,
    updated_at: now,
    declined_by: [],
    outcome: 0,
    expires_at: null,
    escalated_at: null,
  };
  const d = emptyDecision();
  if (input.consentWithdrawn) {
    // Overtaken by the withdrawal of its consent (a redelivery): recorded closed, never routed.
    const referral: ReferralState = { ...base, status: S.REFERRAL_STATUS_WITHDRAWN, purpose: msg.purpose, consented_recipients: msg.consentedRecipients, municipality: '', age_group: 0, type: 1, sender_type: 'foreign-office', recipient_type: '', owner_agency_id: '', languages: [] };
    d.changes.push({ referralId: msg.referralId, event: { type: 'Requested', referral } });
    d.caseIndex.push({ caseRef: msg.caseRef, referralId: msg.referralId, mode: 'insert-if-absent', set: { status: S.REFERRAL_STATUS_WITHDRAWN, currentAgencyId: msg.referrerAgencyId, municipality: '', ageGroup: 0, updatedAt: now } });
    d.timeline.push(stepOf(env, msg.referralId, now, { kind: 'closed-on-arrival' }));
    return d;
  }
  // An onward referral (from a provider) carries neither the routing facts (languages included)
  // nor the consent's recipients: the hub has them from the earlier referral under the same consent.
  const earlier = input.earlier;
  const senderType = rules.agencyTypeOf(msg.referrerAgencyId) ?? '';
  const referral: ReferralState = {
    ...base,
    status: S.REFERRAL_STATUS_REQUESTED,
    purpose: msg.purpose || common.Purpose.PURPOSE_MIGRATION_COUNSELLING,
    consented_recipients: msg.consentedRecipients.length ? msg.consentedRecipients : (earlier?.consented_recipients ?? []),
    municipality: msg.municipality || earlier?.municipality || '',
    age_group: msg.ageGroup || earlier?.age_group || 0,
    type: msg.type || common.ReferralType.REFERRAL_TYPE_REFERRAL,
    sender_type: senderType,
    recipient_type: msg.recipientType,
    owner_agency_id: msg.ownerAgencyId || earlier?.owner_agency_id || msg.referrerAgencyId,
    languages: msg.languages.length ? msg.languages : (earlier?.languages ?? []),
  };
  d.timeline.push(stepOf(env, msg.referralId, now, { kind: 'requested', referralType: referral.type, purpose: referral.purpose, by: senderType === 'foreign-office' ? '' : msg.referrerAgencyId }));
  d.changes.push({ referralId: msg.referralId, event: { type: 'Requested', referral } });
  const audit = { ...msg, municipality: referral.municipality, ageGroup: referral.age_group, languages: referral.languages };
  routeInto(d, referral, rules, input.load, now, { audit });
  return d;
}

/** The referral a provider's event is about; refused when it was not routed to that provider. */
function routedTo(state: ReferralState | undefined, env: envelope.Envelope): Decision | undefined {
  if (!state) return refuse('unknown-referral', `unknown referral from ${env.producerAgencyId}`);
  if (state.provider_id !== env.producerAgencyId) return refuse('not-routed-to-producer', 'event from a provider the referral was not routed to; ignored');
  return undefined;
}

/** Moves a referral forward on a provider's event; a late or repeated one changes nothing (a closed referral stays closed). */
function advance(d: Decision, state: ReferralState, env: envelope.Envelope, now: Date, status: number, declineReason?: number) {
  if (!isReferralStatusAdvance(state.status, status)) return;
  d.changes.push({ referralId: state.referral_id, event: { type: 'Advanced', status, at: now, declineReason: declineReason ?? state.decline_reason } });
  const waitsOn = status === S.REFERRAL_STATUS_DECLINED ? state.referrer_agency_id : env.producerAgencyId;
  // An answer ends the escalation of an unanswered referral: the case list shows what still waits.
  d.caseIndex.push({ caseRef: state.case_ref, referralId: state.referral_id, mode: 'update', set: { status, currentAgencyId: waitsOn, updatedAt: now, ...(status !== S.REFERRAL_STATUS_PENDING && { escalated: false }) } });
  notify(d, state, now, { status, providerId: env.producerAgencyId, declineReason: declineReason ?? 0 });
}

type ProviderInput = Extract<HubInput, { type: 'ReferralReceived' | 'ReferralAccepted' | 'FirstContactRecorded' | 'ReferralCompleted' | 'NewcomerDataReceived' }>;

function providerStep(input: ProviderInput, state: ReferralState | undefined, status: number | undefined, fact: TimelineFact): Decision {
  const refused = routedTo(state, input.env);
  if (refused) return refused;
  const d = emptyDecision();
  if (status !== undefined) advance(d, state!, input.env, input.now, status);
  if (input.type === 'ReferralCompleted') d.changes.push({ referralId: state!.referral_id, event: { type: 'OutcomeRecorded', outcome: input.msg.outcome } });
  d.timeline.push(stepOf(input.env, input.msg.referralId, input.now, fact));
  return d;
}

function declined(input: Extract<HubInput, { type: 'ReferralDeclined' }>, state: ReferralState | undefined, rules: HubRules): Decision {
  const { msg, env, now } = input;
  const refused = routedTo(state, env);
  if (refused) return refused;
  if (state!.status !== S.REFERRAL_STATUS_PENDING) return refuse('not-pending');
  const d = emptyDecision();
  d.timeline.push(stepOf(env, msg.referralId, now, { kind: 'declined', provider: msg.providerId, reason: msg.reason }));
  // The hub confirms the decline and routes to the next suitable provider, never to one that declined.
  const event = { type: 'Declined' as const, by: env.producerAgencyId, reason: msg.reason };
  d.changes.push({ referralId: state!.referral_id, event });
  routeInto(d, evolve(state, event), rules, input.load, now, { declinedBy: env.producerAgencyId });
  return d;
}

function withdrawnByReferrer(input: Extract<HubInput, { type: 'ReferralWithdrawnByReferrer' }>, state: ReferralState | undefined): Decision {
  const { msg, env, now } = input;
  if (!state || state.referrer_agency_id !== env.producerAgencyId) return refuse('not-referrer', 'withdrawal of a referral this agency did not request; ignored');
  if (!openStatuses.includes(state.status)) return refuse('not-open');
  const d = emptyDecision();
  d.changes.push({ referralId: state.referral_id, event: { type: 'Withdrawn', at: now } });
  d.caseIndex.push({ caseRef: state.case_ref, referralId: state.referral_id, mode: 'update', set: { status: S.REFERRAL_STATUS_WITHDRAWN, currentAgencyId: state.referrer_agency_id, escalated: false, updatedAt: now } });
  d.timeline.push(stepOf(env, state.referral_id, now, { kind: 'withdrawn-by-referrer', by: env.producerAgencyId }));
  if (state.provider_id) {
    // consent_id empty: the referral is withdrawn, not the consent; nothing is to be erased.
    const message = events.ReferralWithdrawn.fromPartial({ referralId: state.referral_id, caseRef: state.case_ref, providerId: state.provider_id, consentId: '', withdrawnAt: msg.withdrawnAt ?? now });
    d.publish.push({ type: 'ReferralWithdrawn', message, audience: state.provider_id });
  }
  notify(d, state, now, { status: S.REFERRAL_STATUS_WITHDRAWN, providerId: state.provider_id ?? '' });
  return d;
}

/** A pending referral not answered in time: escalated once, visible in the case list and on the timeline. */
function escalate(now: Date, state: ReferralState | undefined, rules: HubRules): Decision {
  if (!state || state.status !== S.REFERRAL_STATUS_PENDING || state.escalated_at || !state.expires_at || state.expires_at > now) return refuse('not-due');
  const d = emptyDecision();
  d.changes.push({ referralId: state.referral_id, event: { type: 'Escalated', at: now } });
  d.caseIndex.push({ caseRef: state.case_ref, referralId: state.referral_id, mode: 'update', set: { escalated: true } });
  const provider = state.provider_id ?? '';
  const sent = notify(d, state, now, { status: S.REFERRAL_STATUS_PENDING, providerId: provider, note: escalationNote(rules.nameOf(provider)) });
  d.timeline.push({ eventId: { published: sent }, caseRef: state.case_ref, referralId: state.referral_id, eventType: 'ReferralEscalated', agencyId: rules.agencyId, occurredAt: now, fact: { kind: 'escalated', provider } });
  return d;
}

/** What the hub does about one referral on an incoming event or the expiry clock. */
export function decide(input: HubInput, state: ReferralState | undefined, rules: HubRules): Decision {
  switch (input.type) {
    case 'ReferralRequested':
      return requested(input, state, rules);
    case 'ReferralWithdrawnByReferrer':
      return withdrawnByReferrer(input, state);
    case 'ReferralReceived':
      return providerStep(input, state, S.REFERRAL_STATUS_PENDING, { kind: 'received', provider: input.msg.providerId });
    case 'ReferralAccepted':
      return providerStep(input, state, S.REFERRAL_STATUS_ACCEPTED, { kind: 'accepted', provider: input.msg.providerId });
    case 'FirstContactRecorded':
      return providerStep(input, state, S.REFERRAL_STATUS_COUNSELLING_STARTED, { kind: 'first-contact', date: input.msg.contactDate, channel: input.msg.channel });
    case 'ReferralCompleted':
      if (!input.msg.outcome) return refuse('no-outcome', 'completion without an outcome; ignored');
      return providerStep(input, state, S.REFERRAL_STATUS_COMPLETED, { kind: 'completed', provider: input.msg.providerId, outcome: input.msg.outcome });
    case 'NewcomerDataReceived':
      // Like the status events: only the provider the referral was routed to writes on its timeline.
      return providerStep(input, state, undefined, { kind: 'data-fetched', owner: input.msg.ownerAgencyId, categories: input.msg.categories });
    case 'ReferralDeclined':
      return declined(input, state, rules);
    case 'EscalateExpired':
      return escalate(input.now, state, rules);
  }
}
