import { lockAuditChain } from '@lotse/audit';
import { common, envelope as envelopeCodec, events, isReferralStatusAdvance, type envelope } from '@lotse/contracts';
import type { MessagingTables } from '@lotse/messaging';
import { categoryKey, channel, FlowNotAllowedError, requireFlow } from '@lotse/flows';
import type { AgencyContext } from '@lotse/runtime';
import { trace } from '@opentelemetry/api';
import type { Kysely, Transaction } from 'kysely';
import type { HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';
import { route } from '../domain/routing.js';
import { auditRoutingDecision, auditRoutingFactsErased } from '../data-protection/audit-routing.js';

const { ReferralStatus: S, DataCategory } = common;
type Trx = Transaction<HubDb>;

/** Referral states a withdrawal closes. */
const openStatuses = [S.REFERRAL_STATUS_REQUESTED, S.REFERRAL_STATUS_PENDING, S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_COUNSELLING_STARTED];
/** The routing facts the hub received under a consent, and erases when it is withdrawn. */
const routingFacts = [DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP];
const requestedSummaryAfterErasure = 'Referral to migration counselling requested (routing facts erased after the consent was withdrawn)';
const categoryList = (categories: number[]) => categories.map((c) => categoryKey(c)).join(', ');

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
 * The hub's outbox keeps every event it produced, the routing events with the age group among
 * them; after a withdrawal those of the consent's referrals keep the event, not the age group.
 */
async function scrubRoutedEvents(trx: Trx, caseRef: string, referralIds: Set<string>) {
  const db = trx as unknown as Kysely<MessagingTables>;
  const rows = await db.selectFrom('outbox').select(['event_id', 'payload']).where('case_ref', '=', caseRef).where('event_type', '=', 'ReferralRouted').execute();
  for (const row of rows) {
    const env = envelopeCodec.Envelope.decode(row.payload);
    const routed = events.ReferralRouted.decode(env.payload);
    if (!referralIds.has(routed.referralId) || routed.ageGroup === 0) continue;
    const payload = events.ReferralRouted.encode({ ...routed, ageGroup: 0 }).finish();
    const bytes = envelopeCodec.Envelope.encode({ ...env, payload: Buffer.from(payload) }).finish();
    await db.updateTable('outbox').set({ payload: Buffer.from(bytes) }).where('event_id', '=', row.event_id).execute();
  }
}

/**
 * The hub's reactions to case events: route requested referrals, follow providers' decisions,
 * keep the case index and timeline, and tell the referring agency where its referral stands.
 */
export function caseFlow(rt: AgencyContext<HubDb>, directory: Directory) {
  const names = new Map(directory.providers.map((p) => [p.providerId, p.name]));
  const types = new Map(directory.providers.map((p) => [p.providerId, p.agencyType]));

  async function closedOnArrival(trx: Trx, msg: events.ReferralRequested, env: envelope.Envelope) {
    const now = rt.now();
    await trx
      .insertInto('hub_referral')
      .values({
        referral_id: msg.referralId,
        case_ref: msg.caseRef,
        referrer_agency_id: msg.referrerAgencyId,
        provider_id: null,
        status: S.REFERRAL_STATUS_WITHDRAWN,
        purpose: msg.purpose,
        consent_id: msg.consentId,
        consented_recipients: msg.consentedRecipients,
        municipality: '',
        age_group: 0,
        preferred_provider_id: msg.preferredProviderId || null,
        decline_reason: 0,
        requested_at: msg.requestedAt ?? now,
        updated_at: now,
      })
      .execute();
    const index = { status: S.REFERRAL_STATUS_WITHDRAWN, current_agency_id: msg.referrerAgencyId, referral_id: msg.referralId, municipality: '', age_group: 0, updated_at: now };
    await trx.insertInto('case_index').values({ case_ref: msg.caseRef, opened_at: now, ...index }).onConflict((oc) => oc.column('case_ref').doNothing()).execute();
    await recordStep(trx, stepOf(env, msg.referralId, 'Referral requested under a consent already withdrawn; not routed'));
  }

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
    // A withdrawn referral is closed for good; nothing a provider reports later reopens it.
    if (referral.status === S.REFERRAL_STATUS_WITHDRAWN || !isReferralStatusAdvance(referral.status, status)) return referral;
    const now = rt.now();
    await trx.updateTable('hub_referral').set({ status, decline_reason: extra.declineReason ?? referral.decline_reason, updated_at: now }).where('referral_id', '=', referralId).execute();
    const waitsOn = status === S.REFERRAL_STATUS_DECLINED ? referral.referrer_agency_id : env.producerAgencyId;
    await trx.updateTable('case_index').set({ status, current_agency_id: waitsOn, updated_at: now }).where('case_ref', '=', referral.case_ref).where('referral_id', '=', referralId).execute();
    await notifyReferrer(trx, referral, { status, providerId: env.producerAgencyId, declineReason: extra.declineReason ?? 0 });
    return referral;
  }

  return {
    async ReferralRequested(trx: Trx, msg: events.ReferralRequested, env: envelope.Envelope) {
      // The audit chain's lock before any row lock, as in every hub transaction that audits.
      await lockAuditChain(trx);
      const existing = await trx.selectFrom('hub_referral').select('referral_id').where('referral_id', '=', msg.referralId).executeTakeFirst();
      if (existing) return;
      const withdrawn = await trx.selectFrom('consent_withdrawal').select('consent_id').where('consent_id', '=', msg.consentId).executeTakeFirst();
      if (withdrawn) {
        // Overtaken by the withdrawal of its consent (a redelivery): recorded closed, never routed.
        await closedOnArrival(trx, msg, env);
        return;
      }
      await recordStep(trx, stepOf(env, msg.referralId, `Referral to migration counselling requested (${msg.municipality}, ${common.ageGroupToJSON(msg.ageGroup)})`));
      const pendingRows = await trx
        .selectFrom('hub_referral')
        .select(['provider_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', 'in', [S.REFERRAL_STATUS_PENDING])
        .groupBy('provider_id')
        .execute();
      const pending = new Map(pendingRows.map((r) => [r.provider_id ?? '', Number(r.n)]));
      let decision = route(
        { municipality: msg.municipality, ageGroup: msg.ageGroup, consentedRecipients: msg.consentedRecipients, preferredProviderId: msg.preferredProviderId || undefined },
        directory.providers,
        pending,
      );
      if (decision.providerId) {
        // The routing event carries the age group: only where the flow table has a row for it.
        try {
          requireFlow({ sender: rt.agencyType, recipient: types.get(decision.providerId) ?? '', channel: channel.event('ReferralRouted'), purpose: msg.purpose, categories: [DataCategory.DATA_CATEGORY_AGE_GROUP] });
        } catch (error) {
          if (!(error instanceof FlowNotAllowedError)) throw error;
          decision = { providerId: undefined, reason: error.message };
        }
      }
      const now = rt.now();
      await auditRoutingDecision(rt, trx, msg, decision.providerId ?? null);
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

    /**
     * The owner recorded a withdrawal: close the referrals under the consent (telling the provider
     * of a pending one), erase the hub's own routing facts, and ask every recipient — every
     * provider the hub routed to and every agency the owner disclosed to — to erase and confirm.
     */
    async ConsentWithdrawn(trx: Trx, msg: events.ConsentWithdrawn, env: envelope.Envelope) {
      await lockAuditChain(trx);
      const known = await trx.selectFrom('consent_withdrawal').select('consent_id').where('consent_id', '=', msg.consentId).executeTakeFirst();
      if (known) return;
      const now = rt.now();
      const withdrawnAt = msg.withdrawnAt ?? now;
      await trx
        .insertInto('consent_withdrawal')
        .values({ consent_id: msg.consentId, case_ref: msg.caseRef, owner_agency_id: env.producerAgencyId, received_by_agency_id: msg.receivedByAgencyId, withdrawn_at: withdrawnAt })
        .execute();
      const referrals = await trx.selectFrom('hub_referral').selectAll().where('consent_id', '=', msg.consentId).orderBy('referral_id').forUpdate().execute();
      const ids = referrals.map((r) => r.referral_id);
      for (const r of referrals) {
        if (!openStatuses.includes(r.status)) continue;
        await trx.updateTable('hub_referral').set({ status: S.REFERRAL_STATUS_WITHDRAWN, updated_at: now }).where('referral_id', '=', r.referral_id).execute();
        if (r.status === S.REFERRAL_STATUS_PENDING && r.provider_id) {
          await rt.publish(
            trx,
            events.ReferralWithdrawn,
            'ReferralWithdrawn',
            { referralId: r.referral_id, caseRef: r.case_ref, providerId: r.provider_id, consentId: msg.consentId, withdrawnAt },
            r.case_ref,
            r.provider_id,
          );
        }
      }
      if (ids.length) {
        // The hub's own share: the two routing facts, also in the case index and the timeline.
        await trx.updateTable('hub_referral').set({ municipality: '', age_group: 0 }).where('consent_id', '=', msg.consentId).execute();
        await trx
          .updateTable('case_index')
          .set({ status: S.REFERRAL_STATUS_WITHDRAWN, current_agency_id: env.producerAgencyId, municipality: '', age_group: 0, updated_at: now })
          .where('case_ref', '=', msg.caseRef)
          .where('referral_id', 'in', ids)
          .execute();
        await trx.updateTable('timeline_entry').set({ summary: requestedSummaryAfterErasure }).where('referral_id', 'in', ids).where('event_type', '=', 'ReferralRequested').execute();
        await scrubRoutedEvents(trx, msg.caseRef, new Set(ids));
        await auditRoutingFactsErased(rt, trx, { consentId: msg.consentId, caseRef: msg.caseRef, ownerAgencyId: env.producerAgencyId, referrals: ids.length });
        await trx
          .insertInto('erasure_request')
          .values({ consent_id: msg.consentId, recipient_agency_id: rt.agencyId, case_ref: msg.caseRef, requested_at: now, confirmed_at: now, erased_categories: routingFacts, retained: '[]' })
          .execute();
      }
      const recipients = [...new Set([...referrals.flatMap((r) => (r.provider_id ? [r.provider_id] : [])), ...msg.recipientsKnown])]
        .filter((r) => r !== rt.agencyId && r !== env.producerAgencyId)
        .sort();
      for (const recipient of recipients) {
        await trx.insertInto('erasure_request').values({ consent_id: msg.consentId, recipient_agency_id: recipient, case_ref: msg.caseRef, requested_at: now, confirmed_at: null }).execute();
        await rt.publish(
          trx,
          events.ErasureRequested,
          'ErasureRequested',
          { consentId: msg.consentId, caseRef: msg.caseRef, recipient, ownerAgencyId: env.producerAgencyId, withdrawnAt, requestedAt: now },
          msg.caseRef,
          recipient,
        );
      }
      const asked = recipients.map((r) => names.get(r) ?? r).join(', ') || 'no other agency';
      await recordStep(
        trx,
        stepOf(env, ids[0] ?? '', `Consent withdrawn (at ${names.get(msg.receivedByAgencyId) ?? msg.receivedByAgencyId}); ${ids.length} referral(s) closed; erasure requested from ${asked}`),
      );
    },

    /** A recipient confirms it erased what it received under a withdrawn consent (Art. 19 GDPR). */
    async ErasureConfirmed(trx: Trx, msg: events.ErasureConfirmed, env: envelope.Envelope) {
      if (msg.agency !== env.producerAgencyId) {
        rt.logger.warn({ producer: env.producerAgencyId, agency: msg.agency }, 'erasure confirmation for another agency; ignored');
        return;
      }
      const request = await trx
        .selectFrom('erasure_request')
        .selectAll()
        .where('consent_id', '=', msg.consentId)
        .where('recipient_agency_id', '=', env.producerAgencyId)
        .forUpdate()
        .executeTakeFirst();
      if (!request) {
        rt.logger.warn({ producer: env.producerAgencyId, consent_id: msg.consentId }, 'erasure confirmation without a request; ignored');
        return;
      }
      if (request.confirmed_at) return;
      const retained = msg.retained.map((r) => ({ category: r.category, statute: r.statute }));
      await trx
        .updateTable('erasure_request')
        .set({ confirmed_at: msg.confirmedAt ?? rt.now(), erased_categories: msg.erasedCategories, retained: JSON.stringify(retained) })
        .where('consent_id', '=', msg.consentId)
        .where('recipient_agency_id', '=', env.producerAgencyId)
        .execute();
      const kept = retained.length ? `kept ${retained.map((r) => `${categoryKey(r.category)} (${r.statute})`).join(', ')}` : 'kept nothing';
      const referral = await trx.selectFrom('hub_referral').select('referral_id').where('consent_id', '=', msg.consentId).orderBy('referral_id').executeTakeFirst();
      await recordStep(
        trx,
        stepOf(env, referral?.referral_id ?? '', `Erasure confirmed by ${names.get(env.producerAgencyId) ?? env.producerAgencyId}: erased ${categoryList(msg.erasedCategories) || 'nothing held'}; ${kept}`),
      );
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
