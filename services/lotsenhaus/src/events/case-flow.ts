import { common, events, isReferralStatusAdvance, type envelope } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import { trace } from '@opentelemetry/api';
import type { Transaction } from 'kysely';
import type { HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';
import { route } from '../domain/routing.js';

const { ReferralStatus: S } = common;
type Trx = Transaction<HubDb>;

interface Step {
  eventId: string;
  caseRef: string;
  referralId: string;
  eventType: string;
  agencyId: string;
  occurredAt: Date;
  summary: string;
}

/** Adds one step to a case's timeline, with the trace id of the work that produced it. */
async function recordStep(trx: Trx, step: Step): Promise<void> {
  const traceId = trace.getActiveSpan()?.spanContext().traceId ?? '';
  await trx
    .insertInto('timeline_entry')
    .values({
      event_id: step.eventId,
      case_ref: step.caseRef,
      referral_id: step.referralId,
      event_type: step.eventType,
      agency_id: step.agencyId,
      occurred_at: step.occurredAt,
      trace_id: traceId,
      summary: step.summary,
    })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
}

const stepOf = (env: envelope.Envelope, referralId: string, summary: string): Step => ({
  eventId: env.eventId,
  caseRef: env.caseRef,
  referralId,
  eventType: env.eventType,
  agencyId: env.producerAgencyId,
  occurredAt: env.occurredAt ?? new Date(),
  summary,
});

/**
 * The hub's reactions to case events: route requested referrals, follow providers' decisions,
 * keep the case index and timeline, and tell the referring agency where its referral stands.
 */
export function caseFlow(rt: AgencyContext<HubDb>, directory: Directory) {
  const names = new Map(directory.providers.map((p) => [p.providerId, p.name]));

  async function notifyReferrer(trx: Trx, referral: { referral_id: string; case_ref: string; referrer_agency_id: string }, change: Partial<events.ReferralStatusChanged>) {
    return rt.publish(
      trx,
      events.ReferralStatusChanged,
      'ReferralStatusChanged',
      events.ReferralStatusChanged.fromPartial({ referralId: referral.referral_id, caseRef: referral.case_ref, changedAt: rt.now(), ...change }),
      referral.case_ref,
      referral.referrer_agency_id,
    );
  }

  /** The referral a provider's event is about, or undefined when it was not routed to that provider. */
  async function routedReferral(trx: Trx, env: envelope.Envelope, referralId: string) {
    const referral = await trx.selectFrom('hub_referral').selectAll().where('referral_id', '=', referralId).executeTakeFirst();
    if (!referral) throw new Error(`unknown referral ${referralId} from ${env.producerAgencyId}`);
    if (referral.provider_id !== env.producerAgencyId) {
      rt.logger.warn({ referral_id: referralId, producer: env.producerAgencyId }, 'event from a provider the referral was not routed to; ignored');
      return undefined;
    }
    return referral;
  }

  /** Moves a referral forward on a provider's event; ignores late, repeated or foreign events. */
  async function advance(trx: Trx, env: envelope.Envelope, referralId: string, status: common.ReferralStatus, extra: { declineReason?: number } = {}) {
    const referral = await routedReferral(trx, env, referralId);
    if (!referral) return undefined;
    if (!isReferralStatusAdvance(referral.status, status)) return referral;
    const now = rt.now();
    await trx.updateTable('hub_referral').set({ status, decline_reason: extra.declineReason ?? referral.decline_reason, updated_at: now }).where('referral_id', '=', referralId).execute();
    const waitsOn = status === S.REFERRAL_STATUS_DECLINED ? referral.referrer_agency_id : env.producerAgencyId;
    await trx.updateTable('case_index').set({ status, current_agency_id: waitsOn, updated_at: now }).where('case_ref', '=', referral.case_ref).where('referral_id', '=', referralId).execute();
    await notifyReferrer(trx, referral, { status, providerId: env.producerAgencyId, declineReason: extra.declineReason ?? 0 });
    return referral;
  }

  return {
    async ReferralRequested(trx: Trx, msg: events.ReferralRequested, env: envelope.Envelope) {
      const existing = await trx.selectFrom('hub_referral').select('referral_id').where('referral_id', '=', msg.referralId).executeTakeFirst();
      if (existing) return;
      await recordStep(trx, stepOf(env, msg.referralId, `Referral to migration counselling requested (${msg.municipality}, ${common.ageGroupToJSON(msg.ageGroup)})`));
      const pendingRows = await trx
        .selectFrom('hub_referral')
        .select(['provider_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', 'in', [S.REFERRAL_STATUS_PENDING])
        .groupBy('provider_id')
        .execute();
      const pending = new Map(pendingRows.map((r) => [r.provider_id ?? '', Number(r.n)]));
      const decision = route(
        { municipality: msg.municipality, ageGroup: msg.ageGroup, consentedRecipients: msg.consentedRecipients, preferredProviderId: msg.preferredProviderId || undefined },
        directory.providers,
        pending,
      );
      const now = rt.now();
      const status = decision.providerId ? S.REFERRAL_STATUS_PENDING : S.REFERRAL_STATUS_UNROUTABLE;
      const referral = {
        referral_id: msg.referralId,
        case_ref: msg.caseRef,
        referrer_agency_id: msg.referrerAgencyId,
        provider_id: decision.providerId ?? null,
        status,
        purpose: msg.purpose,
        consent_id: msg.consentId,
        consented_recipients: msg.consentedRecipients,
        municipality: msg.municipality,
        age_group: msg.ageGroup,
        preferred_provider_id: msg.preferredProviderId || null,
        decline_reason: 0,
        requested_at: msg.requestedAt ?? now,
        updated_at: now,
      };
      await trx.insertInto('hub_referral').values(referral).execute();
      const index = {
        status,
        current_agency_id: decision.providerId ?? msg.referrerAgencyId,
        referral_id: msg.referralId,
        municipality: msg.municipality,
        age_group: msg.ageGroup,
        updated_at: now,
      };
      await trx
        .insertInto('case_index')
        .values({ case_ref: msg.caseRef, opened_at: now, ...index })
        .onConflict((oc) => oc.column('case_ref').doUpdateSet(index))
        .execute();

      if (decision.providerId) {
        const routedId = await rt.publish(
          trx,
          events.ReferralRouted,
          'ReferralRouted',
          {
            referralId: msg.referralId,
            caseRef: msg.caseRef,
            referrerAgencyId: msg.referrerAgencyId,
            providerId: decision.providerId,
            purpose: msg.purpose,
            consentId: msg.consentId,
            ageGroup: msg.ageGroup,
            routingReason: decision.reason,
            routedAt: now,
          },
          msg.caseRef,
          decision.providerId,
        );
        await recordStep(trx, {
          eventId: routedId,
          caseRef: msg.caseRef,
          referralId: msg.referralId,
          eventType: 'ReferralRouted',
          agencyId: rt.agencyId,
          occurredAt: now,
          summary: `Routed to ${names.get(decision.providerId) ?? decision.providerId} (${decision.reason === 'preferred' ? "newcomer's choice" : 'cooperation agreement'})`,
        });
        await notifyReferrer(trx, referral, { status, providerId: decision.providerId });
      } else {
        const eventId = await notifyReferrer(trx, referral, { status, note: decision.reason });
        await recordStep(trx, {
          eventId,
          caseRef: msg.caseRef,
          referralId: msg.referralId,
          eventType: 'ReferralUnroutable',
          agencyId: rt.agencyId,
          occurredAt: now,
          summary: `No provider found: ${decision.reason}`,
        });
      }
    },

    async ReferralReceived(trx: Trx, msg: events.ReferralReceived, env: envelope.Envelope) {
      if (!(await advance(trx, env, msg.referralId, S.REFERRAL_STATUS_PENDING))) return;
      await recordStep(trx, stepOf(env, msg.referralId, `Waiting in the inbox of ${names.get(msg.providerId) ?? msg.providerId}`));
    },

    async ReferralAccepted(trx: Trx, msg: events.ReferralAccepted, env: envelope.Envelope) {
      if (!(await advance(trx, env, msg.referralId, S.REFERRAL_STATUS_ACCEPTED))) return;
      await recordStep(trx, stepOf(env, msg.referralId, `Accepted by ${names.get(msg.providerId) ?? msg.providerId}`));
    },

    async ReferralDeclined(trx: Trx, msg: events.ReferralDeclined, env: envelope.Envelope) {
      if (!(await advance(trx, env, msg.referralId, S.REFERRAL_STATUS_DECLINED, { declineReason: msg.reason }))) return;
      await recordStep(trx, stepOf(env, msg.referralId, `Declined by ${names.get(msg.providerId) ?? msg.providerId}: ${common.declineReasonToJSON(msg.reason)}`));
    },

    async NewcomerDataReceived(trx: Trx, msg: events.NewcomerDataReceived, env: envelope.Envelope) {
      // Like the status events: only the provider the referral was routed to writes on its timeline.
      if (!(await routedReferral(trx, env, msg.referralId))) return;
      const categories = msg.categories.map((c) => common.dataCategoryToJSON(c).replace('DATA_CATEGORY_', '').toLowerCase()).join(', ');
      await recordStep(trx, stepOf(env, msg.referralId, `Consented data (${categories}) fetched from ${msg.ownerAgencyId}`));
    },

    async FirstContactRecorded(trx: Trx, msg: events.FirstContactRecorded, env: envelope.Envelope) {
      if (!(await advance(trx, env, msg.referralId, S.REFERRAL_STATUS_COUNSELLING_STARTED))) return;
      await recordStep(trx, stepOf(env, msg.referralId, `First counselling contact on ${msg.contactDate} (${common.contactChannelToJSON(msg.channel).replace('CONTACT_CHANNEL_', '').toLowerCase()})`));
    },
  };
}
