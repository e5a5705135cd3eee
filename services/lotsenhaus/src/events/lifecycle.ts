// The referral lifecycle's handlers: a referral requested, withdrawn by its referrer, answered
// by its provider (received, accepted, declined, first contact, completed, data fetched), the
// capacity providers publish, and the escalation of referrals not answered in time. Each looks
// up what the decider needs, lets it decide, and carries the decision out.
import { lockAuditChain } from '@lotse/audit';
import type { envelope, events } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import { hubRepository as repo } from '../db/hub-repository.js';
import type { HubDb } from '../db/schema.js';
import { decide, type HubInput, type HubRules, type RoutingLoad } from '../domain/referral-decider.js';
import { carryOut, type Trx } from './carry-out.js';

type ProviderEvent = Extract<HubInput, { type: 'ReferralReceived' | 'ReferralAccepted' | 'FirstContactRecorded' | 'ReferralCompleted' | 'NewcomerDataReceived' }>;

/** No routing happens: nothing to weigh. */
const noLoad: RoutingLoad = { pending: new Map(), capacity: new Map() };

export function lifecycleHandlers(rt: AgencyContext<HubDb>, rules: HubRules) {
  /** A provider's answer about a referral routed to it. */
  const fromProvider =
    <T extends ProviderEvent['type']>(type: T) =>
    async (trx: Trx, msg: Extract<ProviderEvent, { type: T }>['msg'], env: envelope.Envelope) => {
      const state = await repo.referral(trx, msg.referralId);
      const d = decide({ type, msg, env, now: rt.now() } as HubInput, state, rules);
      await carryOut(rt, trx, d, [state], { referral_id: msg.referralId, producer: env.producerAgencyId });
    };

  return {
    async ReferralRequested(trx: Trx, msg: events.ReferralRequested, env: envelope.Envelope) {
      // The audit chain's lock before any row lock, as in every hub transaction that audits.
      await lockAuditChain(trx);
      // Looked up only for a request in the referrer's own name (the decider refuses any other).
      const own = msg.referrerAgencyId === env.producerAgencyId;
      const state = own ? await repo.referral(trx, msg.referralId) : undefined;
      const fresh = own && !state;
      const consentWithdrawn = fresh && (await repo.consentWithdrawn(trx, msg.consentId));
      const routes = fresh && !consentWithdrawn;
      const earlier = routes && !(msg.municipality && msg.consentedRecipients.length) ? await repo.firstUnderConsent(trx, msg.consentId, msg.caseRef) : undefined;
      const load = routes ? await repo.routingLoad(trx) : noLoad;
      const d = decide({ type: 'ReferralRequested', msg, env, now: rt.now(), consentWithdrawn, earlier, load }, state, rules);
      await carryOut(rt, trx, d, [state], { referral_id: msg.referralId, producer: env.producerAgencyId });
    },

    /** The referrer withdrew its referral: closed here, and at the provider it was routed to. */
    async ReferralWithdrawnByReferrer(trx: Trx, msg: events.ReferralWithdrawnByReferrer, env: envelope.Envelope) {
      const state = await repo.referral(trx, msg.referralId, true);
      await carryOut(rt, trx, decide({ type: 'ReferralWithdrawnByReferrer', msg, env, now: rt.now() }, state, rules), [state], { referral_id: msg.referralId, producer: env.producerAgencyId });
    },

    async ReferralDeclined(trx: Trx, msg: events.ReferralDeclined, env: envelope.Envelope) {
      await lockAuditChain(trx);
      const state = await repo.referral(trx, msg.referralId);
      const load = state ? await repo.routingLoad(trx) : noLoad;
      await carryOut(rt, trx, decide({ type: 'ReferralDeclined', msg, env, now: rt.now(), load }, state, rules), [state], { referral_id: msg.referralId, producer: env.producerAgencyId });
    },

    ReferralReceived: fromProvider('ReferralReceived'),
    ReferralAccepted: fromProvider('ReferralAccepted'),
    FirstContactRecorded: fromProvider('FirstContactRecorded'),
    ReferralCompleted: fromProvider('ReferralCompleted'),
    NewcomerDataReceived: fromProvider('NewcomerDataReceived'),

    /** A provider or job centre published its free capacity: the hub keeps the latest. */
    async CapacityChanged(trx: Trx, msg: events.CapacityChanged, env: envelope.Envelope) {
      if (msg.providerId !== env.producerAgencyId) {
        rt.logger.warn({ producer: env.producerAgencyId, provider: msg.providerId }, 'capacity of another provider; ignored');
        return;
      }
      await repo.saveCapacity(trx, { providerId: msg.providerId, kind: msg.kind, free: msg.free, changedAt: msg.changedAt ?? env.occurredAt ?? rt.now() });
    },

    /** Pending referrals not answered in time: escalated once, visible in the case list and on the timeline. */
    async escalateExpired(trx: Trx, limit = 100): Promise<number> {
      const now = rt.now();
      const due = await repo.dueForEscalation(trx, now, limit);
      for (const state of due) await carryOut(rt, trx, decide({ type: 'EscalateExpired', now }, state, rules), [state]);
      return due.length;
    },
  };
}
