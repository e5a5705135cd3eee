import { lockAuditChain } from '@lotse/audit';
import { common, envelope as envelopeCodec, events, isReferralStatusAdvance, type envelope } from '@lotse/contracts';
import type { MessagingTables } from '@lotse/messaging';
import { categoryKey, channel, FlowNotAllowedError, requireFlow } from '@lotse/flows';
import type { AgencyContext } from '@lotse/runtime';
import { trace } from '@opentelemetry/api';
import type { Kysely, Transaction } from 'kysely';
import type { HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';
import { route, type CapacityMap, type RoutingDecision } from '../domain/routing.js';
import { addWorkingDays } from '../domain/working-days.js';
import { jobCentreEvents } from '@lotse/contracts';
import type { Selectable } from 'kysely';
import type { HubReferralTable } from '../db/schema.js';
import { auditRoutingDecision, auditRoutingFactsErased, eraseAssessmentsUnderConsent } from '../data-protection/audit-routing.js';

const { ReferralStatus: S, DataCategory } = common;
const jcLevel = (l: number) => ['?', 'A1', 'A2', 'B1', 'B2', 'C1'][l] ?? '?';
const jcPlacement = (t: number) => ['unspecified', 'activation measure', 'vocational training measure', 'job', 'apprenticeship'][t] ?? 'unspecified';
const jcOutcome = (o: number) => ['unspecified', 'employed', 'vocational training', 'moved away', 'no longer eligible', 'other'][o] ?? 'unspecified';
type Trx = Transaction<HubDb>;

/** Referral states a withdrawal closes. */
const openStatuses = [S.REFERRAL_STATUS_REQUESTED, S.REFERRAL_STATUS_PENDING, S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_COUNSELLING_STARTED];
/** The routing facts the hub received under a consent, and erases when it is withdrawn (the languages too, where it held them). */
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
export interface CaseFlowOptions {
  /** When a pending referral escalates, counted from its routing. */
  expiresAt?: (routedAt: Date) => Date;
}

const purposeWords = (p: number) => common.purposeToJSON(p || common.Purpose.PURPOSE_MIGRATION_COUNSELLING).replace('PURPOSE_', '').replace(/_/g, ' ').toLowerCase();

export function caseFlow(rt: AgencyContext<HubDb>, directory: Directory, options: CaseFlowOptions = {}) {
  const expiresAt = options.expiresAt ?? ((at: Date) => addWorkingDays(at, 5));
  const agencyTypes = new Map<string, string>([...directory.referrers.map((r) => [r.agencyId, r.agencyType] as const), ...directory.providers.map((p) => [p.providerId, p.agencyType] as const)]);
  const names = new Map([...directory.referrers.map((r) => [r.agencyId, r.name] as const), ...directory.providers.map((p) => [p.providerId, p.name] as const)]);
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

  /**
   * Tells the referrer where its referral stands — and the data owner as well where another agency
   * referred on: the owner discloses personal data only to the agency a referral is with, and
   * learns that only from here. Returns the referrer's event id (the timeline keys steps by it).
   */
  async function notifyReferrer(
    trx: Trx,
    referral: { referral_id: string; case_ref: string; referrer_agency_id: string; owner_agency_id?: string; purpose?: number },
    change: Partial<events.ReferralStatusChanged>,
  ) {
    const message = events.ReferralStatusChanged.fromPartial({
      referralId: referral.referral_id,
      caseRef: referral.case_ref,
      changedAt: rt.now(),
      purpose: referral.purpose ?? 0,
      referrerAgencyId: referral.referrer_agency_id,
      ...change,
    });
    const eventId = await rt.publish(trx, events.ReferralStatusChanged, 'ReferralStatusChanged', message, referral.case_ref, referral.referrer_agency_id);
    const owner = referral.owner_agency_id;
    if (owner && owner !== referral.referrer_agency_id) {
      await rt.publish(trx, events.ReferralStatusChanged, 'ReferralStatusChanged', message, referral.case_ref, owner);
    }
    return eventId;
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
    // Forward only; a closed referral (declined, unroutable, withdrawn) stays closed.
    if (!isReferralStatusAdvance(referral.status, status)) return referral;
    const now = rt.now();
    await trx.updateTable('hub_referral').set({ status, decline_reason: extra.declineReason ?? referral.decline_reason, updated_at: now }).where('referral_id', '=', referralId).execute();
    const waitsOn = status === S.REFERRAL_STATUS_DECLINED ? referral.referrer_agency_id : env.producerAgencyId;
    // An answer ends the escalation of an unanswered referral: the case list shows what still waits.
    await trx
      .updateTable('case_index')
      .set({ status, current_agency_id: waitsOn, updated_at: now, ...(status !== S.REFERRAL_STATUS_PENDING && { escalated: false }) })
      .where('case_ref', '=', referral.case_ref)
      .where('referral_id', '=', referralId)
      .execute();
    await notifyReferrer(trx, referral, { status, providerId: env.producerAgencyId, declineReason: extra.declineReason ?? 0 });
    return referral;
  }

  async function capacityMap(trx: Trx): Promise<CapacityMap> {
    const rows = await trx.selectFrom('provider_capacity').selectAll().execute();
    const map = new Map<string, Map<common.CapacityKind, number>>();
    for (const r of rows) {
      if (!map.has(r.provider_id)) map.set(r.provider_id, new Map());
      map.get(r.provider_id)!.set(r.kind, r.free);
    }
    return map;
  }

  /**
   * Routes a referral (first time, or again after a decline) to the next suitable provider —
   * never one that declined it —, skipping providers without capacity, and says so on the
   * timeline; none left → unroutable.
   */
  async function routeReferral(trx: Trx, referral: Selectable<HubReferralTable>, how: { auditMsg?: events.ReferralRequested; opening?: boolean; declinedBy?: string }) {
    const pendingRows = await trx
      .selectFrom('hub_referral')
      .select(['provider_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', [S.REFERRAL_STATUS_PENDING])
      .groupBy('provider_id')
      .execute();
    const pending = new Map(pendingRows.map((r) => [r.provider_id ?? '', Number(r.n)]));
    let decision: RoutingDecision = route(
      {
        municipality: referral.municipality,
        ageGroup: referral.age_group,
        consentedRecipients: referral.consented_recipients,
        preferredProviderId: referral.preferred_provider_id ?? undefined,
        purpose: referral.purpose,
        senderType: referral.sender_type,
        recipientType: referral.recipient_type || undefined,
        languages: referral.languages,
        excluded: new Set(referral.declined_by),
      },
      directory.providers,
      pending,
      { agreements: directory.agreements, capacity: await capacityMap(trx) },
    );
    if (decision.providerId) {
      // The routing event carries the age group: only where the flow table has a row for it.
      try {
        requireFlow({ sender: rt.agencyType, recipient: types.get(decision.providerId) ?? '', channel: channel.event('ReferralRouted'), purpose: referral.purpose, categories: [DataCategory.DATA_CATEGORY_AGE_GROUP] });
      } catch (error) {
        if (!(error instanceof FlowNotAllowedError)) throw error;
        decision = { providerId: undefined, reason: error.message, skipped: decision.skipped };
      }
    }
    const now = rt.now();
    if (how.auditMsg) await auditRoutingDecision(rt, trx, how.auditMsg, decision.providerId ?? null);
    for (const [i, skip] of decision.skipped.entries()) {
      await recordStep(trx, {
        eventId: `${referral.referral_id}:skipped:${referral.declined_by.length}:${i}`,
        caseRef: referral.case_ref,
        referralId: referral.referral_id,
        eventType: 'ProviderSkipped',
        agencyId: rt.agencyId,
        occurredAt: now,
        summary: `Skipped ${skip.providerId}: ${skip.reason}`,
      });
    }
    const status = decision.providerId ? S.REFERRAL_STATUS_PENDING : S.REFERRAL_STATUS_UNROUTABLE;
    await trx
      .updateTable('hub_referral')
      .set({ provider_id: decision.providerId ?? null, status, updated_at: now, expires_at: decision.providerId ? expiresAt(now) : null, escalated_at: null })
      .where('referral_id', '=', referral.referral_id)
      .execute();
    const index = {
      status,
      current_agency_id: decision.providerId ?? referral.referrer_agency_id,
      referral_id: referral.referral_id,
      municipality: referral.municipality,
      age_group: referral.age_group,
      escalated: false,
      updated_at: now,
    };
    await trx
      .insertInto('case_index')
      .values({ case_ref: referral.case_ref, opened_at: now, ...index })
      .onConflict((oc) => oc.column('case_ref').doUpdateSet(index))
      .execute();
    if (decision.providerId) {
      const routedId = await rt.publish(
        trx,
        events.ReferralRouted,
        'ReferralRouted',
        {
          referralId: referral.referral_id,
          caseRef: referral.case_ref,
          referrerAgencyId: referral.referrer_agency_id,
          providerId: decision.providerId,
          purpose: referral.purpose,
          consentId: referral.consent_id,
          ageGroup: referral.age_group,
          routingReason: decision.reason,
          routedAt: now,
          type: referral.type,
          ownerAgencyId: referral.owner_agency_id || referral.referrer_agency_id,
        },
        referral.case_ref,
        decision.providerId,
      );
      const why = decision.reason === 'preferred' ? "newcomer's choice" : 'cooperation agreement';
      const prefix = how.declinedBy ? `Decline confirmed; re-routed to` : 'Routed to';
      await recordStep(trx, {
        eventId: routedId,
        caseRef: referral.case_ref,
        referralId: referral.referral_id,
        eventType: 'ReferralRouted',
        agencyId: rt.agencyId,
        occurredAt: now,
        summary: `${prefix} ${names.get(decision.providerId) ?? decision.providerId} (${why})`,
      });
      await notifyReferrer(trx, referral, { status, providerId: decision.providerId, note: how.declinedBy ? `declined by ${how.declinedBy}; re-routed` : '' });
    } else {
      const reason = how.declinedBy ? `declined by ${how.declinedBy}; ${decision.reason}` : decision.reason;
      const eventId = await notifyReferrer(trx, referral, { status, note: reason });
      await recordStep(trx, {
        eventId,
        caseRef: referral.case_ref,
        referralId: referral.referral_id,
        eventType: 'ReferralUnroutable',
        agencyId: rt.agencyId,
        occurredAt: now,
        summary: `No provider found: ${reason}`,
      });
    }
  }

  /** A job centre's case step on the timeline, when the case was routed to that job centre. */
  async function jobCentreStep(trx: Trx, env: envelope.Envelope, jobCentreId: string, summary: string, referralId?: string) {
    if (jobCentreId !== env.producerAgencyId) {
      rt.logger.warn({ producer: env.producerAgencyId, job_centre: jobCentreId }, 'job centre step in another agency\'s name; ignored');
      return;
    }
    let query = trx.selectFrom('hub_referral').select('referral_id').where('case_ref', '=', env.caseRef).where('provider_id', '=', env.producerAgencyId);
    if (referralId) query = query.where('referral_id', '=', referralId);
    const referral = await query.orderBy('requested_at', 'desc').executeTakeFirst();
    if (!referral) {
      rt.logger.warn({ producer: env.producerAgencyId, case_ref: env.caseRef }, 'job centre step for a case not routed there; ignored');
      return;
    }
    await recordStep(trx, stepOf(env, referral.referral_id, summary));
  }

  return {
    async ReferralRequested(trx: Trx, msg: events.ReferralRequested, env: envelope.Envelope) {
      // The audit chain's lock before any row lock, as in every hub transaction that audits.
      await lockAuditChain(trx);
      if (msg.referrerAgencyId !== env.producerAgencyId) {
        rt.logger.warn({ referral_id: msg.referralId, producer: env.producerAgencyId }, 'referral requested in another agency\'s name; ignored');
        return;
      }
      const existing = await trx.selectFrom('hub_referral').select('referral_id').where('referral_id', '=', msg.referralId).executeTakeFirst();
      if (existing) return;
      const withdrawn = await trx.selectFrom('consent_withdrawal').select('consent_id').where('consent_id', '=', msg.consentId).executeTakeFirst();
      if (withdrawn) {
        // Overtaken by the withdrawal of its consent (a redelivery): recorded closed, never routed.
        await closedOnArrival(trx, msg, env);
        return;
      }
      // An onward referral (from a provider) carries neither the routing facts (languages included)
      // nor the consent's recipients: the hub has them from the earlier referral under the same consent.
      const earlier =
        msg.municipality && msg.consentedRecipients.length
          ? undefined
          : await trx.selectFrom('hub_referral').selectAll().where('consent_id', '=', msg.consentId).where('case_ref', '=', msg.caseRef).orderBy('requested_at').executeTakeFirst();
      const municipality = msg.municipality || earlier?.municipality || '';
      const ageGroup = msg.ageGroup || earlier?.age_group || 0;
      const consentedRecipients = msg.consentedRecipients.length ? msg.consentedRecipients : (earlier?.consented_recipients ?? []);
      const languages = msg.languages.length ? msg.languages : (earlier?.languages ?? []);
      const senderType = agencyTypes.get(msg.referrerAgencyId) ?? '';
      const purpose = msg.purpose || common.Purpose.PURPOSE_MIGRATION_COUNSELLING;
      const type = msg.type || common.ReferralType.REFERRAL_TYPE_REFERRAL;
      const ownerAgencyId = msg.ownerAgencyId || earlier?.owner_agency_id || msg.referrerAgencyId;
      const from = senderType === 'foreign-office' ? '' : ` by ${names.get(msg.referrerAgencyId) ?? msg.referrerAgencyId}`;
      const kind = type === common.ReferralType.REFERRAL_TYPE_TRANSFER ? 'Transfer' : 'Referral';
      const facts = municipality ? ` (${municipality}, ${common.ageGroupToJSON(ageGroup)})` : '';
      await recordStep(trx, stepOf(env, msg.referralId, `${kind} to ${purposeWords(purpose)} requested${from}${facts}`));
      const now = rt.now();
      const referral = {
        referral_id: msg.referralId,
        case_ref: msg.caseRef,
        referrer_agency_id: msg.referrerAgencyId,
        provider_id: null as string | null,
        status: S.REFERRAL_STATUS_REQUESTED as common.ReferralStatus,
        purpose,
        consent_id: msg.consentId,
        consented_recipients: consentedRecipients,
        municipality,
        age_group: ageGroup,
        preferred_provider_id: msg.preferredProviderId || null,
        decline_reason: 0,
        requested_at: msg.requestedAt ?? now,
        updated_at: now,
        type,
        sender_type: senderType,
        recipient_type: msg.recipientType,
        owner_agency_id: ownerAgencyId,
        languages,
      };
      await trx.insertInto('hub_referral').values(referral).execute();
      const row = await trx.selectFrom('hub_referral').selectAll().where('referral_id', '=', msg.referralId).executeTakeFirstOrThrow();
      await routeReferral(trx, row, { auditMsg: { ...msg, municipality, ageGroup, languages }, opening: true });
    },

    /** A provider or job centre published its free capacity: the hub keeps the latest. */
    async CapacityChanged(trx: Trx, msg: events.CapacityChanged, env: envelope.Envelope) {
      if (msg.providerId !== env.producerAgencyId) {
        rt.logger.warn({ producer: env.producerAgencyId, provider: msg.providerId }, 'capacity of another provider; ignored');
        return;
      }
      const changedAt = msg.changedAt ?? env.occurredAt ?? rt.now();
      await trx
        .insertInto('provider_capacity')
        .values({ provider_id: msg.providerId, kind: msg.kind, free: msg.free, changed_at: changedAt })
        .onConflict((oc) =>
          oc.columns(['provider_id', 'kind']).doUpdateSet({ free: msg.free, changed_at: changedAt }).where('provider_capacity.changed_at', '<=', changedAt),
        )
        .execute();
    },

    /** The referrer withdrew its referral: closed here, and at the provider it was routed to. */
    async ReferralWithdrawnByReferrer(trx: Trx, msg: events.ReferralWithdrawnByReferrer, env: envelope.Envelope) {
      const referral = await trx.selectFrom('hub_referral').selectAll().where('referral_id', '=', msg.referralId).forUpdate().executeTakeFirst();
      if (!referral || referral.referrer_agency_id !== env.producerAgencyId) {
        rt.logger.warn({ referral_id: msg.referralId, producer: env.producerAgencyId }, 'withdrawal of a referral this agency did not request; ignored');
        return;
      }
      if (!openStatuses.includes(referral.status)) return;
      const now = rt.now();
      const withdrawnAt = msg.withdrawnAt ?? now;
      await trx.updateTable('hub_referral').set({ status: S.REFERRAL_STATUS_WITHDRAWN, updated_at: now }).where('referral_id', '=', referral.referral_id).execute();
      await trx
        .updateTable('case_index')
        .set({ status: S.REFERRAL_STATUS_WITHDRAWN, current_agency_id: referral.referrer_agency_id, escalated: false, updated_at: now })
        .where('case_ref', '=', referral.case_ref)
        .where('referral_id', '=', referral.referral_id)
        .execute();
      await recordStep(trx, stepOf(env, referral.referral_id, `Referral withdrawn by ${names.get(env.producerAgencyId) ?? env.producerAgencyId}`));
      if (referral.provider_id) {
        // consent_id empty: the referral is withdrawn, not the consent; nothing is to be erased.
        await rt.publish(
          trx,
          events.ReferralWithdrawn,
          'ReferralWithdrawn',
          { referralId: referral.referral_id, caseRef: referral.case_ref, providerId: referral.provider_id, consentId: '', withdrawnAt },
          referral.case_ref,
          referral.provider_id,
        );
      }
      await notifyReferrer(trx, referral, { status: S.REFERRAL_STATUS_WITHDRAWN, providerId: referral.provider_id ?? '' });
    },

    /** Pending referrals not answered in time: escalated once, visible in the case list and on the timeline. */
    async escalateExpired(trx: Trx, limit = 100): Promise<number> {
      const now = rt.now();
      const due = await trx
        .selectFrom('hub_referral')
        .selectAll()
        .where('status', '=', S.REFERRAL_STATUS_PENDING)
        .where('escalated_at', 'is', null)
        .where('expires_at', '<=', now)
        .orderBy('expires_at')
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const r of due) {
        await trx.updateTable('hub_referral').set({ escalated_at: now }).where('referral_id', '=', r.referral_id).execute();
        await trx.updateTable('case_index').set({ escalated: true }).where('case_ref', '=', r.case_ref).where('referral_id', '=', r.referral_id).execute();
        const note = `not answered by ${names.get(r.provider_id ?? '') ?? r.provider_id} in time; escalated to the coordination`;
        const eventId = await notifyReferrer(trx, r, { status: S.REFERRAL_STATUS_PENDING, providerId: r.provider_id ?? '', note });
        await recordStep(trx, { eventId, caseRef: r.case_ref, referralId: r.referral_id, eventType: 'ReferralEscalated', agencyId: rt.agencyId, occurredAt: now, summary: `Referral expired: ${note}` });
      }
      return due.length;
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
      // The one-stop desk (this deployment) erases its competence assessments under the consent too.
      await eraseAssessmentsUnderConsent(rt, trx, { consentId: msg.consentId, caseRef: msg.caseRef });
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
        // The hub's own share: the routing facts, also in the case index and the timeline (the languages only in hub_referral).
        const erased = referrals.some((r) => r.languages.length) ? [DataCategory.DATA_CATEGORY_LANGUAGES, ...routingFacts] : routingFacts;
        await trx.updateTable('hub_referral').set({ municipality: '', age_group: 0, languages: [] }).where('consent_id', '=', msg.consentId).execute();
        await trx
          .updateTable('case_index')
          .set({ status: S.REFERRAL_STATUS_WITHDRAWN, current_agency_id: env.producerAgencyId, municipality: '', age_group: 0, updated_at: now })
          .where('case_ref', '=', msg.caseRef)
          .where('referral_id', 'in', ids)
          .execute();
        await trx.updateTable('timeline_entry').set({ summary: requestedSummaryAfterErasure }).where('referral_id', 'in', ids).where('event_type', '=', 'ReferralRequested').execute();
        await scrubRoutedEvents(trx, msg.caseRef, new Set(ids));
        await auditRoutingFactsErased(rt, trx, { consentId: msg.consentId, caseRef: msg.caseRef, ownerAgencyId: env.producerAgencyId, referrals: ids.length, categories: erased });
        await trx
          .insertInto('erasure_request')
          .values({ consent_id: msg.consentId, recipient_agency_id: rt.agencyId, case_ref: msg.caseRef, requested_at: now, confirmed_at: now, erased_categories: erased, retained: '[]' })
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
      await lockAuditChain(trx);
      const referral = await routedReferral(trx, env, msg.referralId);
      if (!referral || referral.status !== S.REFERRAL_STATUS_PENDING) return;
      const who = names.get(msg.providerId) ?? msg.providerId;
      await recordStep(trx, stepOf(env, msg.referralId, `Declined by ${who}: ${common.declineReasonToJSON(msg.reason)}`));
      // The hub confirms the decline and routes to the next suitable provider, never to one that declined.
      await trx
        .updateTable('hub_referral')
        .set({ decline_reason: msg.reason, declined_by: [...referral.declined_by, env.producerAgencyId] })
        .where('referral_id', '=', referral.referral_id)
        .execute();
      const updated = await trx.selectFrom('hub_referral').selectAll().where('referral_id', '=', referral.referral_id).executeTakeFirstOrThrow();
      await routeReferral(trx, updated, { declinedBy: env.producerAgencyId });
    },

    async ReferralCompleted(trx: Trx, msg: events.ReferralCompleted, env: envelope.Envelope) {
      if (!msg.outcome) {
        rt.logger.warn({ referral_id: msg.referralId }, 'completion without an outcome; ignored');
        return;
      }
      const referral = await advance(trx, env, msg.referralId, S.REFERRAL_STATUS_COMPLETED);
      if (!referral) return;
      await trx.updateTable('hub_referral').set({ outcome: msg.outcome }).where('referral_id', '=', msg.referralId).execute();
      await recordStep(trx, stepOf(env, msg.referralId, `Completed by ${names.get(msg.providerId) ?? msg.providerId}: ${common.referralOutcomeToJSON(msg.outcome)}`));
    },

    async CustomerRegistered(trx: Trx, msg: jobCentreEvents.CustomerRegistered, env: envelope.Envelope) {
      await jobCentreStep(trx, env, msg.jobCentreId, `Registered as a customer of ${names.get(msg.jobCentreId) ?? msg.jobCentreId}`, msg.referralId);
    },

    async LanguageCourseFundingDecided(trx: Trx, msg: jobCentreEvents.LanguageCourseFundingDecided, env: envelope.Envelope) {
      const level = (l: number) => jcLevel(l);
      const what =
        msg.decision === 1
          ? `language course ${level(msg.assessedLevel)} → ${level(msg.targetLevel)} funded, starting ${msg.courseStart}`
          : `language course ${level(msg.assessedLevel)} → ${level(msg.targetLevel)} not funded (${msg.refusalReason})`;
      await jobCentreStep(trx, env, msg.jobCentreId, `Funding decided: ${what}`);
    },

    async CooperationPlanAgreed(trx: Trx, msg: jobCentreEvents.CooperationPlanAgreed, env: envelope.Envelope) {
      const partners = msg.partnerAgencyIds.length ? `; partners: ${msg.partnerAgencyIds.join(', ')}` : '';
      await jobCentreStep(trx, env, msg.jobCentreId, `Cooperation plan v${msg.version} agreed on ${msg.planDate}: ${msg.goalCount} goal(s), ${msg.stepCount} step(s) due ${msg.firstDueDate}–${msg.lastDueDate}${partners}`);
    },

    async PlacementRecorded(trx: Trx, msg: jobCentreEvents.PlacementRecorded, env: envelope.Envelope) {
      const type = jcPlacement(msg.type);
      await jobCentreStep(trx, env, msg.jobCentreId, `Placement recorded: ${type} from ${msg.startDate}${msg.endDate ? ` to ${msg.endDate}` : ''}`);
    },

    async JobCentreCaseClosed(trx: Trx, msg: jobCentreEvents.JobCentreCaseClosed, env: envelope.Envelope) {
      await jobCentreStep(trx, env, msg.jobCentreId, `Job centre case closed on ${msg.closedOn}: ${jcOutcome(msg.outcome)}`);
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
