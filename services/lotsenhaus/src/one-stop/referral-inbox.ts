import { common, eventTypeOf, events, oneStop, type envelope } from '@lotse/contracts';
import { subjectsAddressedTo } from '@lotse/messaging';
import { routedReferrals } from '@lotse/referrals';
import { on, subscribe, type AgencyContext, type EventHandler, type Subscription } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { HubDb } from '../db/schema.js';
import type { OneStopDb } from './schema.js';
import { recordDeskStep } from '../desk-port.js';

type Trx = Transaction<OneStopDb>;

/**
 * The Lotsenhaus as a recipient of referrals: the hub routes to it like to any provider, through
 * its own outbox, addressed to itself. The desk holds the referral as pending until the intake
 * (RecordIntake accepts it); what is its own here is the owner it keeps and the desk step on the
 * case timeline.
 */
export function oneStopReferralInbox(rt: AgencyContext<OneStopDb>) {
  const inbox = routedReferrals(rt, {
    table: 'one_stop_referral',
    pending: oneStop.OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_PENDING,
    withdrawn: oneStop.OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_WITHDRAWN,
    ownValues: (msg, now) => ({ owner_agency_id: msg.ownerAgencyId || msg.referrerAgencyId, received_at: now, accepted_at: null }),
    ignoreMisaddressed: true,
    received: (trx, msg, eventId, now) =>
      recordDeskStep(trx, {
        eventId,
        caseRef: msg.caseRef,
        referralId: msg.referralId,
        eventType: eventTypeOf(events.ReferralReceived),
        agencyId: rt.agencyId,
        occurredAt: now,
        summary: `Waiting at the Lotsenhaus one-stop desk (${common.purposeToJSON(msg.purpose).replace('PURPOSE_', '').toLowerCase()})`,
      }),
  });
  return {
    /** Idempotent: a redelivered or repeated routing changes nothing. Only the hub in this deployment routes here. */
    async ReferralRouted(trx: Trx, msg: events.ReferralRouted, env: envelope.Envelope): Promise<void> {
      if (env.producerAgencyId !== rt.agencyId) return;
      await inbox.ReferralRouted(trx, msg, env);
    },

    /** The hub closed a referral routed here (its sender or the consent withdrew it): no intake any more. */
    async ReferralWithdrawn(trx: Trx, msg: events.ReferralWithdrawn, env: envelope.Envelope): Promise<void> {
      if (env.producerAgencyId !== rt.agencyId) return;
      await inbox.ReferralWithdrawn(trx, msg, env);
    },
  };
}

/** The desk's module name: its inbox (deployment:one-stop), beside the hub's in the same deployment. */
export const ONE_STOP_MODULE = 'one-stop';

/**
 * The desk's subscription: the events the hub addresses to the Lotsenhaus itself (routings,
 * withdrawals). Its filter differs from any subscription to the whole stream, so it gets a durable
 * consumer of its own, and as a module of its own an inbox of its own: the hub following its own
 * stream in the same deployment does not swallow the desk's events.
 */
export function oneStopSubscription(rt: AgencyContext<HubDb>): Subscription<HubDb> {
  return subscribe<HubDb>(rt.agencyId, subjectsAddressedTo(rt.agencyId, rt.agencyId), oneStopHandlers(rt), { module: ONE_STOP_MODULE });
}

/** The desk's handlers of what the hub addresses to the Lotsenhaus, for a subscription of the hub's. */
export function oneStopHandlers(rt: AgencyContext<HubDb>): EventHandler<HubDb>[] {
  const inbox = oneStopReferralInbox(rt as unknown as AgencyContext<OneStopDb>);
  return [
    on<HubDb, events.ReferralRouted>(events.ReferralRouted, (trx, msg, env) => inbox.ReferralRouted(trx as unknown as Trx, msg, env)),
    on<HubDb, events.ReferralWithdrawn>(events.ReferralWithdrawn, (trx, msg, env) => inbox.ReferralWithdrawn(trx as unknown as Trx, msg, env)),
  ];
}
