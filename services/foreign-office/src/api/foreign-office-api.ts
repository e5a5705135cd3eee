import { randomBytes } from 'node:crypto';
import { common, events, foreignOffice } from '@lotse/contracts';
import { actorOfCall, appendAudit, lockAuditChain } from '@lotse/audit';
import { categoryKey, channel, FlowNotAllowedError, requireFlow, type Flow } from '@lotse/flows';
import {
  berlinDate,
  NotFoundError,
  once,
  pageSize,
  PermissionDeniedError,
  requireOwnCaseworker,
  UnavailableError,
  type AsyncHandlers,
  type CallContext,
} from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import type { Kysely, Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { ForeignOfficeDb } from '../db/schema.js';
import { REGISTER_CATEGORIES } from '../data-protection/holdings.js';
import { CONSENT_RECORD_BASIS, REGISTER_BASIS, WITHDRAWAL_BASIS } from '../data-protection/legal-bases.js';
import { ageGroupOn } from '../domain/age-group.js';
import { consentText, languagesOf } from '../consent-texts/index.js';
import { covers, grantedCategories, namesRecipient, newestCovering } from '../domain/consent.js';
import { isOpenWith, standingOf, standingOfReferral, type Standing } from '../domain/disclosure.js';
import { withdrawConsents } from '../domain/withdrawal.js';
import { toConsent, toConsentTerms, toNewcomer, toReferral } from './mappers.js';
import {
  discloseChannel,
  validateDisclose,
  validateGetConsentText,
  validateRecordConsent,
  validateRegisterNewcomer,
  validateRequestReferral,
  validateWithdrawConsent,
} from './validate.js';

const { ReferralStatus, DataCategory } = common;
const S = foreignOffice.ForeignOfficeServiceService;

/** A pseudonymous reference: random, so it says nothing about the person. */
export function newCaseRef(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  return 'C-' + [...randomBytes(10)].map((b) => alphabet[b % 32]).join('');
}

// Ages and deadlines count in German calendar days, not UTC ones.
const isoDay = berlinDate;

/**
 * A newcomer's consents, locked in consent_id order (one order for every caller, so two
 * transactions never wait on each other's rows crosswise).
 */
export function lockedConsents(trx: Transaction<ForeignOfficeDb> | Kysely<ForeignOfficeDb>, newcomerId: string, mode: 'share' | 'update') {
  const query = trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomerId).orderBy('consent_id');
  return (mode === 'share' ? query.forShare() : query.forUpdate()).execute();
}

export function foreignOfficeApi(rt: AgencyContext<ForeignOfficeDb>): AsyncHandlers<typeof S> {
  const { db, agencyId } = rt;

  async function newcomerOrThrow(trx: typeof db, newcomerId: string) {
    const row = await trx.selectFrom('newcomer').selectAll().where('newcomer_id', '=', newcomerId).executeTakeFirst();
    if (!row) throw new NotFoundError('newcomer_id', newcomerId);
    return row;
  }

  /**
   * A party to a consent besides this office: a deployment that holds data under it (a granted
   * disclosure), or one that a referral of the newcomer is open with and that the consent names.
   * Naming the agency type alone made every provider of the type a party.
   */
  async function isPartyToConsent(trx: typeof db, consent: { consent_id: string; newcomer_id: string; recipients: string[] }, caller: CallContext['caller']) {
    const held = await trx
      .selectFrom('data_access_log')
      .select('id')
      .where('caller_agency_id', '=', caller.agencyId)
      .where('legal_basis', '=', `consent:${consent.consent_id}`)
      .where('outcome', '=', 'granted')
      .limit(1)
      .executeTakeFirst();
    if (held) return true;
    if (!consent.recipients.includes(caller.agencyId) && !consent.recipients.includes(caller.agencyType)) return false;
    const { case_ref } = await newcomerOrThrow(trx, consent.newcomer_id);
    const withCaller = await trx.selectFrom('referral_recipient').select(['referral_id', 'purpose', 'status']).where('case_ref', '=', case_ref).where('recipient_agency_id', '=', caller.agencyId).execute();
    return withCaller.some(isOpenWith);
  }

  /**
   * Where the caller stands with the case, from the office's own record of the hub's events —
   * for the one referral it names, or any of the case's referrals with it when it names none.
   */
  async function standingWith(trx: typeof db, q: { caseRef: string; callerId: string; purpose: number; referralId?: string }): Promise<Standing> {
    if (q.referralId) {
      const referral = await trx
        .selectFrom('referral_recipient')
        .select(['referral_id', 'purpose', 'status', 'recipient_agency_id'])
        .where('referral_id', '=', q.referralId)
        .where('case_ref', '=', q.caseRef)
        .executeTakeFirst();
      return standingOfReferral(referral, q.referralId, q.callerId, q.purpose);
    }
    const withCaller = await trx.selectFrom('referral_recipient').select(['referral_id', 'purpose', 'status']).where('case_ref', '=', q.caseRef).where('recipient_agency_id', '=', q.callerId).execute();
    return standingOf(withCaller, q.purpose);
  }

  /**
   * A provider fetches right after it accepts, and the hub's word of the acceptance reaches this
   * office a hop later. While a referral routed to the caller waits for it, or one the caller names
   * is still pending with another deployment here (a re-route after a decline follows the same
   * way), wait a moment (outside any transaction) rather than refuse; the decision comes after.
   * Both need a real pending referral and its id, not a made-up one. A referral not known
   * here at all is answered UNAVAILABLE at once (the owner clients retry): waiting for it would
   * let anyone hold the office's call slots by naming referrals that do not exist.
   */
  async function hubWordOnItsWay(q: Parameters<typeof standingWith>[1], timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
      const { kind } = await standingWith(db, q);
      if ((kind !== 'awaiting' && kind !== 'rerouting') || Date.now() + pause > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  return {
    async registerNewcomer(req, ctx) {
      requireOwnCaseworker(ctx, agencyId);
      const input = validateRegisterNewcomer(req, rt.now());
      const actor = actorOfCall(ctx);
      return rt.transact((trx) =>
        once(trx, { method: 'RegisterNewcomer', requestId: input.requestId, request: req, requestCodec: foreignOffice.RegisterNewcomerRequest }, foreignOffice.RegisterNewcomerResponse, async () => {
          const row = await trx
            .insertInto('newcomer')
            .values({
              newcomer_id: uuidv7(),
              case_ref: newCaseRef(),
              given_names: input.givenNames,
              family_name: input.familyName,
              birth_date: input.birthDate,
              nationality: input.nationality,
              languages: input.languages,
              municipality: input.municipality,
              residence_status: input.residenceStatus,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          rt.logger.info({ newcomer_id: row.newcomer_id, case_ref: row.case_ref }, 'newcomer registered');
          await appendAudit(trx, { ...actor, action: 'write', subjectRef: row.case_ref, categories: REGISTER_CATEGORIES, purpose: 0, legalBasis: REGISTER_BASIS, details: { newcomer_id: row.newcomer_id }, at: rt.now() });
          return { newcomer: toNewcomer(row) };
        }),
      );
    },

    async recordConsent(req, ctx) {
      requireOwnCaseworker(ctx, agencyId);
      const input = validateRecordConsent(req, rt.now());
      const actor = actorOfCall(ctx);
      return rt.transact((trx) =>
        once(trx, { method: 'RecordConsent', requestId: input.requestId, request: req, requestCodec: foreignOffice.RecordConsentRequest }, foreignOffice.RecordConsentResponse, async () => {
          // The audit chain's lock before any row lock, as every transaction here that audits and locks shared rows.
          await lockAuditChain(trx);
          const newcomer = await newcomerOrThrow(trx, input.newcomerId);
          const row = await trx
            .insertInto('consent')
            .values({
              consent_id: uuidv7(),
              newcomer_id: input.newcomerId,
              recipients: input.recipients,
              purposes: input.purposes,
              data_categories: input.dataCategories,
              expires_at: input.expiresAt,
              text_version: input.textVersion,
              language: input.language,
              interpreter_used: input.interpreterUsed,
              withdrawn_at: null,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          rt.logger.info({ consent_id: row.consent_id, newcomer_id: row.newcomer_id }, 'consent recorded');
          await appendAudit(trx, {
            ...actor,
            action: 'write',
            subjectRef: newcomer.case_ref,
            categories: row.data_categories,
            purpose: 0,
            legalBasis: CONSENT_RECORD_BASIS,
            details: { consent_id: row.consent_id, recipients: row.recipients, purposes: row.purposes },
            at: rt.now(),
          });
          return { consent: toConsent(row) };
        }),
      );
    },

    async requestReferral(req, ctx) {
      requireOwnCaseworker(ctx, agencyId);
      const input = validateRequestReferral(req);
      const actor = actorOfCall(ctx);
      return rt.transact((trx) =>
        once(trx, { method: 'RequestReferral', requestId: input.requestId, request: req, requestCodec: foreignOffice.RequestReferralRequest }, foreignOffice.RequestReferralResponse, async () => {
          await lockAuditChain(trx);
          const newcomer = await newcomerOrThrow(trx, input.newcomerId);
          // FOR SHARE: a withdrawal (FOR UPDATE) and this referral serialise on the consent rows.
          const consents = (await lockedConsents(trx, newcomer.newcomer_id, 'share')).map(toConsentTerms);
          const now = rt.now();
          const consent = input.consentId ? consents.find((c) => c.consentId === input.consentId) : newestCovering(consents, input.purpose, now);
          if (input.consentId && !consent) throw new NotFoundError('consent_id', input.consentId);
          if (!consent || !newestCovering([consent], input.purpose, now)) {
            throw new PermissionDeniedError(`no consent in force of newcomer ${newcomer.newcomer_id} covers purpose ${common.purposeToJSON(input.purpose)}; nothing was sent`);
          }
          if (input.preferredProviderId && !namesRecipient(consent, { agencyId: input.preferredProviderId, agencyType: 'migration-services' })) {
            throw new PermissionDeniedError(`consent ${consent.consentId} does not name ${input.preferredProviderId} as a recipient; nothing was sent`);
          }
          // The languages the newcomer speaks let the hub route to staff who speak one of them —
          // only where the consent grants the category; without it the hub routes without them.
          const languages = consent.dataCategories.includes(DataCategory.DATA_CATEGORY_LANGUAGES) ? newcomer.languages : [];
          const routingFacts = [...(languages.length ? [DataCategory.DATA_CATEGORY_LANGUAGES] : []), DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP];
          // Only a row on the newcomer's consent lets the routing facts go (checked above, held FOR SHARE).
          requireFlow({ sender: rt.agencyType, recipient: 'lotsenhaus', channel: channel.event('ReferralRequested'), purpose: input.purpose, categories: routingFacts, basis: 'consent' });
          const referralId = uuidv7();
          const row = await trx
            .insertInto('referral')
            .values({
              referral_id: referralId,
              newcomer_id: newcomer.newcomer_id,
              case_ref: newcomer.case_ref,
              consent_id: consent.consentId,
              purpose: input.purpose,
              status: ReferralStatus.REFERRAL_STATUS_REQUESTED,
              provider_id: null,
              decline_reason: 0,
              preferred_provider_id: input.preferredProviderId ?? null,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          // Thin event: the hub needs the case reference, the consent's recipients and the routing facts.
          const requestEventId = await rt.publish(trx, events.ReferralRequested, 'ReferralRequested', {
            referralId,
            caseRef: newcomer.case_ref,
            referrerAgencyId: agencyId,
            purpose: input.purpose,
            consentId: consent.consentId,
            consentedRecipients: consent.recipients,
            municipality: newcomer.municipality,
            ageGroup: ageGroupOn(newcomer.birth_date, isoDay(now)),
            preferredProviderId: input.preferredProviderId ?? '',
            requestedAt: row.requested_at,
            type: common.ReferralType.REFERRAL_TYPE_REFERRAL,
            recipientType: 'migration-services',
            ownerAgencyId: agencyId,
            sourceReferralId: '',
            languages,
          }, newcomer.case_ref);
          // Kept until the hub answers: the follow-up sends this event again if the broker lost it.
          await trx.updateTable('referral').set({ request_event_id: requestEventId }).where('referral_id', '=', referralId).execute();
          rt.logger.info({ referral_id: referralId, case_ref: newcomer.case_ref }, 'referral requested');
          // The routing facts leave with the event: an export to the hub.
          await appendAudit(trx, {
            ...actor,
            action: 'export',
            subjectRef: newcomer.case_ref,
            categories: routingFacts,
            purpose: input.purpose,
            legalBasis: `consent:${consent.consentId}`,
            details: { referral_id: referralId, recipient_agency_type: 'lotsenhaus', event: 'ReferralRequested' },
            at: now,
          });
          return { referral: toReferral(row) };
        }),
      );
    },

    async getNewcomer(req, ctx) {
      requireOwnCaseworker(ctx, agencyId);
      const actor = actorOfCall(ctx);
      // The read and its audit entry commit together.
      return rt.transact(async (trx) => {
        const newcomer = await newcomerOrThrow(trx, req.newcomerId);
        const consents = await trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomer.newcomer_id).orderBy('granted_at').execute();
        await appendAudit(trx, { ...actor, action: 'read', subjectRef: newcomer.case_ref, categories: REGISTER_CATEGORIES, purpose: 0, legalBasis: REGISTER_BASIS, details: { newcomer_id: newcomer.newcomer_id }, at: rt.now() });
        return { newcomer: toNewcomer(newcomer), consents: consents.map(toConsent) };
      });
    },

    async listReferrals(req, ctx) {
      requireOwnCaseworker(ctx, agencyId);
      const limit = pageSize(req.pageSize);
      let query = db.selectFrom('referral').selectAll().orderBy('referral_id').limit(limit + 1);
      if (req.newcomerId) query = query.where('newcomer_id', '=', req.newcomerId);
      if (req.status) query = query.where('status', '=', req.status);
      if (req.pageToken) query = query.where('referral_id', '>', req.pageToken);
      const rows = await query.execute();
      const page = rows.slice(0, limit);
      return { referrals: page.map(toReferral), nextPageToken: rows.length > limit ? page[page.length - 1]!.referral_id : '' };
    },

    async discloseNewcomerData(req, ctx) {
      const input = validateDisclose(req);
      const caller = ctx.caller;
      const actor = actorOfCall(ctx);
      // No row of the flow table for this recipient, purpose and these categories: refused (and logged).
      let flow: Flow | undefined;
      let noFlow: FlowNotAllowedError | undefined;
      try {
        flow = requireFlow({ sender: rt.agencyType, recipient: caller.agencyType, channel: discloseChannel, purpose: input.purpose, categories: input.categories });
      } catch (error) {
        if (!(error instanceof FlowNotAllowedError)) throw error;
        noFlow = error;
      }
      const asked = { caseRef: input.caseRef, callerId: caller.agencyId, purpose: input.purpose, referralId: input.referralId };
      await hubWordOnItsWay(asked);
      // The answer and its audit row commit together: no disclosure without a record of it.
      const outcome = await rt.transact(async (trx) => {
        await lockAuditChain(trx);
        const newcomer = await trx.selectFrom('newcomer').selectAll().where('case_ref', '=', input.caseRef).executeTakeFirst();
        if (!newcomer) throw new NotFoundError('case_ref', input.caseRef, 'case');
        // FOR SHARE: a withdrawal (FOR UPDATE) waits for this disclosure to commit, or this one sees it withdrawn.
        const consents = (await lockedConsents(trx, newcomer.newcomer_id, 'share')).map(toConsentTerms);
        const now = rt.now();
        const consent = flow
          ? consents.filter((c) => covers(c, caller, input.purpose, now)).sort((a, b) => b.grantedAt.getTime() - a.grantedAt.getTime())[0]
          : undefined;
        // The office's own record of where the case's referrals are, never the caller's word.
        const standing = await standingWith(trx, asked);
        const inTable = new Set(flow?.categories ?? []);
        const categories = consent ? grantedCategories(consent, input.categories).filter((c) => inTable.has(categoryKey(c))) : [];
        const granted = standing.kind === 'entitled' && consent !== undefined && categories.length > 0;
        const referralId = standing.kind === 'none' ? undefined : standing.referralId;
        await trx
          .insertInto('data_access_log')
          .values({
            caller_agency_id: caller.agencyId,
            case_ref: input.caseRef,
            purpose: input.purpose,
            categories: granted ? categories : input.categories,
            legal_basis: granted ? `consent:${consent.consentId}` : null,
            outcome: granted ? 'granted' : 'denied',
            flow_id: flow?.id ?? null,
          })
          .execute();
        // The disclosure register above stays; the hash-chained audit log gets the same access.
        await appendAudit(trx, {
          ...actor,
          action: granted ? 'export' : 'refuse',
          subjectRef: input.caseRef,
          categories: granted ? categories : input.categories,
          purpose: input.purpose,
          legalBasis: granted ? `consent:${consent.consentId}` : '',
          details: { recipient_agency_id: caller.agencyId, ...(flow && { flow_id: flow.id }), ...(referralId && { referral_id: referralId }), ...(!granted && { standing: standing.kind }) },
          at: now,
        });
        return granted ? { granted: true as const, newcomer, consent, categories } : { granted: false as const, standing };
      });
      if (!outcome.granted && noFlow) {
        rt.logger.warn({ caller: caller.agencyId, case_ref: input.caseRef, missing: noFlow.missing }, 'disclosure refused: no flow in the flow table');
        throw new PermissionDeniedError(`${noFlow.message}; the refusal was logged`);
      }
      const standing = outcome.granted ? undefined : outcome.standing;
      if (standing?.kind === 'unknown') {
        rt.logger.info({ caller: caller.agencyId, case_ref: input.caseRef, referral_id: standing.referralId }, 'disclosure refused for now: the referral is not known here yet');
        throw new UnavailableError(`referral_id: the hub's word of referral ${standing.referralId} has not reached ${agencyId} yet; try again shortly (the refusal was logged)`);
      }
      if (standing?.kind === 'awaiting') {
        rt.logger.info({ caller: caller.agencyId, case_ref: input.caseRef, referral_id: standing.referralId }, 'disclosure refused for now: the acceptance has not arrived');
        throw new UnavailableError(
          `referral ${standing.referralId} is routed to ${caller.agencyId}, but its acceptance has not reached ${agencyId} yet; try again shortly (the refusal was logged)`,
        );
      }
      if (standing?.kind === 'rerouting') {
        // Not PERMISSION_DENIED: a provider the hub re-routed the referral to after a decline
        // fetches as soon as it accepted, and this office may not have the re-route yet. The other
        // deployment is not named. Once it accepts (or the referral closes) the answer is `none`.
        rt.logger.info({ caller: caller.agencyId, case_ref: input.caseRef, referral_id: standing.referralId }, 'disclosure refused for now: the referral is pending elsewhere; a re-route may be on its way');
        throw new UnavailableError(
          `referral ${standing.referralId} is not with ${caller.agencyId} as far as ${agencyId} knows; if the hub re-routed it there, its word has not arrived yet; try again shortly (the refusal was logged)`,
        );
      }
      if (standing?.kind === 'none') {
        rt.logger.warn({ caller: caller.agencyId, case_ref: input.caseRef }, 'disclosure refused: no referral of the case is with the caller');
        throw new PermissionDeniedError(
          `no referral of case ${input.caseRef} for ${common.purposeToJSON(input.purpose)} is with ${caller.agencyId} (accepted or in progress); the refusal was logged`,
        );
      }
      if (!outcome.granted) {
        rt.logger.warn({ caller: caller.agencyId, case_ref: input.caseRef }, 'disclosure refused: no consent covers caller and purpose');
        throw new PermissionDeniedError(
          `no consent in force covers ${caller.agencyId} for ${common.purposeToJSON(input.purpose)} and the requested categories; the refusal was logged`,
        );
      }
      const { newcomer, consent, categories } = outcome;
      const has = (c: common.DataCategory) => categories.includes(c);
      return foreignOffice.DiscloseNewcomerDataResponse.fromPartial({
        caseRef: newcomer.case_ref,
        consentId: consent.consentId,
        legalBasis: `consent:${consent.consentId}`,
        grantedCategories: categories,
        ...(has(DataCategory.DATA_CATEGORY_IDENTITY) && { givenNames: newcomer.given_names, familyName: newcomer.family_name, birthDate: newcomer.birth_date }),
        ...(has(DataCategory.DATA_CATEGORY_NATIONALITY) && { nationality: newcomer.nationality }),
        ...(has(DataCategory.DATA_CATEGORY_LANGUAGES) && { languages: newcomer.languages }),
        ...(has(DataCategory.DATA_CATEGORY_RESIDENCE_STATUS) && { residenceStatus: newcomer.residence_status }),
        ...(has(DataCategory.DATA_CATEGORY_MUNICIPALITY) && { municipality: newcomer.municipality }),
      });
    },

    async getConsentText(req) {
      const input = validateGetConsentText(req);
      const text = consentText(input.textVersion, input.language);
      if (!text) {
        if (languagesOf(input.textVersion).length === 0) throw new NotFoundError('text_version', input.textVersion, 'consent text');
        throw new NotFoundError('language', input.language, `${input.textVersion} text in the language`);
      }
      return {
        textVersion: text.textVersion,
        language: text.language,
        direction: text.direction === 'rtl' ? foreignOffice.TextDirection.TEXT_DIRECTION_RTL : foreignOffice.TextDirection.TEXT_DIRECTION_LTR,
        title: text.title,
        text: text.text,
        availableLanguages: languagesOf(input.textVersion),
      };
    },

    async withdrawConsent(req, ctx) {
      const input = validateWithdrawConsent(req);
      const actor = actorOfCall(ctx);
      const own = ctx.caller.agencyId === agencyId;
      if (input.newcomerId && !own) throw new PermissionDeniedError(`only ${agencyId}'s own caseworkers may withdraw by newcomer_id; pass consent_id`);
      return rt.transact((trx) =>
        once(trx, { method: 'WithdrawConsent', requestId: input.requestId, request: req, requestCodec: foreignOffice.WithdrawConsentRequest }, foreignOffice.WithdrawConsentResponse, async () => {
          // FOR UPDATE: waits for every disclosure and referral holding the consent (FOR SHARE) to
          // commit; those that come after see it withdrawn. Nothing leaves after this commits.
          await lockAuditChain(trx);
          let rows;
          if (input.consentId) {
            rows = await trx.selectFrom('consent').selectAll().where('consent_id', '=', input.consentId).forUpdate().execute();
            if (rows.length === 0) throw new NotFoundError('consent_id', input.consentId);
          } else {
            await newcomerOrThrow(trx, input.newcomerId!);
            rows = await lockedConsents(trx, input.newcomerId!, 'update');
          }
          for (const row of rows) {
            if (!own && !(await isPartyToConsent(trx, row, ctx.caller))) {
              throw new PermissionDeniedError(
                `${ctx.caller.agencyId} is no party to consent ${row.consent_id}: only this office, a recipient holding data under it, or the agency a referral under it is with may pass its withdrawal on`,
              );
            }
          }
          const newlyWithdrawn = rows.filter((r) => !r.withdrawn_at);
          const withdrawn = await withdrawConsents(rt, trx, rows, { receivedBy: ctx.caller.agencyId, reason: input.reason });
          // Recording the withdrawal changes the consent record: on record with who passed it on.
          for (const row of newlyWithdrawn) {
            const { case_ref } = await newcomerOrThrow(trx, row.newcomer_id);
            await appendAudit(trx, {
              ...actor,
              action: 'write',
              subjectRef: case_ref,
              categories: row.data_categories,
              purpose: 0,
              legalBasis: WITHDRAWAL_BASIS,
              details: { consent_id: row.consent_id, withdrawal: true },
              at: rt.now(),
            });
          }
          return { consents: withdrawn };
        }),
      );
    },
  };
}
