import { common, events, type envelope } from '@lotse/contracts';
import { oneStop } from '@lotse/contracts';
import { eventSubject } from '@lotse/messaging';
import { on, subscribe, type AgencyContext, type Subscription } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { HubDb } from '../db/schema.js';
import type { OneStopDb } from './schema.js';
import { recordDeskStep } from './timeline.js';

type Trx = Transaction<OneStopDb>;

/**
 * The Lotsenhaus as a recipient of referrals: the hub routes to it like to any provider, through
 * its own outbox, addressed to itself. The desk holds the referral as pending until the intake.
 */
export function oneStopReferralInbox(rt: AgencyContext<OneStopDb>) {
  return {
    /** Idempotent: a redelivered or repeated routing changes nothing. */
    async ReferralRouted(trx: Trx, msg: events.ReferralRouted, env: envelope.Envelope): Promise<void> {
      if (msg.providerId !== rt.agencyId || env.producerAgencyId !== rt.agencyId) return;
      const inserted = await trx
        .insertInto('one_stop_referral')
        .values({
          referral_id: msg.referralId,
          case_ref: msg.caseRef,
          referrer_agency_id: msg.referrerAgencyId,
          owner_agency_id: msg.ownerAgencyId || msg.referrerAgencyId,
          purpose: msg.purpose,
          consent_id: msg.consentId,
          age_group: msg.ageGroup,
          status: oneStop.OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_PENDING,
          received_at: rt.now(),
          accepted_at: null,
        })
        .onConflict((oc) => oc.column('referral_id').doNothing())
        .returning('referral_id')
        .executeTakeFirst();
      if (!inserted) return;
      const eventId = await rt.publish(trx, events.ReferralReceived, 'ReferralReceived', { referralId: msg.referralId, caseRef: msg.caseRef, providerId: rt.agencyId }, msg.caseRef);
      await recordDeskStep(trx, {
        eventId,
        caseRef: msg.caseRef,
        referralId: msg.referralId,
        eventType: 'ReferralReceived',
        agencyId: rt.agencyId,
        occurredAt: rt.now(),
        summary: `Waiting at the Lotsenhaus one-stop desk (${common.purposeToJSON(msg.purpose).replace('PURPOSE_', '').toLowerCase()})`,
      });
    },
  };
}

/**
 * The desk's subscription: only ReferralRouted addressed to the Lotsenhaus itself, on the hub's
 * own stream. Its filter differs from any subscription to the whole stream, so it gets a durable
 * consumer of its own.
 */
export function oneStopSubscription(rt: AgencyContext<HubDb>): Subscription<HubDb> {
  const ctx = rt as unknown as AgencyContext<OneStopDb>;
  const inbox = oneStopReferralInbox(ctx);
  return subscribe<HubDb>(rt.agencyId, eventSubject(rt.agencyId, 'ReferralRouted', rt.agencyId), {
    ReferralRouted: on(events.ReferralRouted, (trx, msg, env) => inbox.ReferralRouted(trx as unknown as Trx, msg, env)),
  });
}
