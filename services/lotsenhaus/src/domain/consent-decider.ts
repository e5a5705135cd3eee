// The hub's rules when a consent is withdrawn and when a recipient confirms its erasure. Pure:
// the handler looks the referrals and the erasure request up and carries out what is decided.
import { common, events, type envelope } from '@lotse/contracts';
import { emptyDecision, openStatuses, refuse, type Decision, type ReferralState } from './referral-lifecycle.js';

const { ReferralStatus: S, DataCategory } = common;

/** The routing facts the hub received under a consent, and erases when it is withdrawn (the languages too, where it held them). */
const routingFacts = [DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP];

export interface WithdrawalDecision extends Decision {
  /** The hub's own share erased (absent when it held nothing under the consent). */
  erased?: { categories: common.DataCategory[]; referralIds: string[] };
  /** Every recipient asked to erase and confirm. */
  askedToErase: string[];
}

/**
 * The owner recorded a withdrawal: close the referrals under the consent (telling the provider of
 * a pending one), erase the hub's own routing facts, and ask every recipient — every provider the
 * hub routed to and every agency the owner disclosed to — to erase and confirm.
 */
export function decideConsentWithdrawal(
  input: { msg: events.ConsentWithdrawn; env: envelope.Envelope; now: Date; alreadyKnown: boolean; referrals: readonly ReferralState[] },
  hubAgencyId: string,
): WithdrawalDecision {
  const { msg, env, now, referrals } = input;
  if (input.alreadyKnown) return { ...refuse('duplicate'), askedToErase: [] };
  const d: WithdrawalDecision = { ...emptyDecision(), askedToErase: [] };
  const withdrawnAt = msg.withdrawnAt ?? now;
  const ids = referrals.map((r) => r.referral_id);
  for (const r of referrals) {
    if (!openStatuses.includes(r.status)) continue;
    d.changes.push({ referralId: r.referral_id, event: { type: 'Withdrawn', at: now } });
    if (r.status === S.REFERRAL_STATUS_PENDING && r.provider_id) {
      const message = events.ReferralWithdrawn.fromPartial({ referralId: r.referral_id, caseRef: r.case_ref, providerId: r.provider_id, consentId: msg.consentId, withdrawnAt });
      d.publish.push({ type: 'ReferralWithdrawn', message, audience: r.provider_id });
    }
  }
  if (ids.length) {
    // The hub's own share: the routing facts, also in the case index (the languages only in hub_referral).
    d.erased = { categories: referrals.some((r) => r.languages.length) ? [DataCategory.DATA_CATEGORY_LANGUAGES, ...routingFacts] : routingFacts, referralIds: ids };
    for (const id of ids) {
      d.changes.push({ referralId: id, event: { type: 'RoutingFactsErased' } });
      d.caseIndex.push({ caseRef: msg.caseRef, referralId: id, mode: 'update', set: { status: S.REFERRAL_STATUS_WITHDRAWN, currentAgencyId: env.producerAgencyId, municipality: '', ageGroup: 0, updatedAt: now } });
    }
  }
  d.askedToErase = [...new Set([...referrals.flatMap((r) => (r.provider_id ? [r.provider_id] : [])), ...msg.recipientsKnown])].filter((r) => r !== hubAgencyId && r !== env.producerAgencyId).sort();
  for (const recipient of d.askedToErase) {
    const message = events.ErasureRequested.fromPartial({ consentId: msg.consentId, caseRef: msg.caseRef, recipient, ownerAgencyId: env.producerAgencyId, withdrawnAt, requestedAt: now });
    d.publish.push({ type: 'ErasureRequested', message, audience: recipient });
  }
  d.timeline.push({
    eventId: env.eventId,
    caseRef: env.caseRef,
    referralId: ids[0] ?? '',
    eventType: env.eventType,
    agencyId: env.producerAgencyId,
    occurredAt: env.occurredAt ?? now,
    fact: { kind: 'consent-withdrawn', receivedBy: msg.receivedByAgencyId, closed: ids.length, asked: d.askedToErase },
  });
  return d;
}

/** A recipient confirms it erased what it received under a withdrawn consent (Art. 19 GDPR). */
export function decideErasureConfirmation(
  input: { msg: events.ErasureConfirmed; env: envelope.Envelope; now: Date; request?: { confirmed_at: Date | null }; firstReferralId?: string },
): Decision & { confirmation?: { confirmedAt: Date; erasedCategories: number[]; retained: { category: number; statute: string }[] } } {
  const { msg, env, now } = input;
  if (msg.agency !== env.producerAgencyId) return refuse('foreign-producer', 'erasure confirmation for another agency; ignored');
  if (!input.request) return refuse('no-request', 'erasure confirmation without a request; ignored');
  if (input.request.confirmed_at) return refuse('duplicate');
  const retained = msg.retained.map((r) => ({ category: r.category, statute: r.statute }));
  const d = emptyDecision();
  d.timeline.push({
    eventId: env.eventId,
    caseRef: env.caseRef,
    referralId: input.firstReferralId ?? '',
    eventType: env.eventType,
    agencyId: env.producerAgencyId,
    occurredAt: env.occurredAt ?? now,
    fact: { kind: 'erasure-confirmed', by: env.producerAgencyId, erased: msg.erasedCategories, retained },
  });
  return { ...d, confirmation: { confirmedAt: msg.confirmedAt ?? now, erasedCategories: msg.erasedCategories, retained } };
}
