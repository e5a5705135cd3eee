import { randomBytes } from 'node:crypto';
import { common, events, foreignOffice } from '@lotse/contracts';
import {
  NotFoundError,
  once,
  pageSize,
  PermissionDeniedError,
  type AsyncHandlers,
  type CallContext,
} from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import { v7 as uuidv7 } from 'uuid';
import type { ForeignOfficeDb } from '../db/schema.js';
import { ageGroupOn } from '../domain/age-group.js';
import { covers, grantedCategories, namesRecipient, newestCovering } from '../domain/consent.js';
import { toConsent, toConsentTerms, toNewcomer, toReferral } from './mappers.js';
import { validateDisclose, validateRecordConsent, validateRegisterNewcomer, validateRequestReferral } from './validate.js';

const { ReferralStatus, DataCategory } = common;
const S = foreignOffice.ForeignOfficeServiceService;

/** Caseworker calls come from this foreign office's own deployment certificate. */
function requireOwnAgency(ctx: CallContext, agencyId: string): void {
  if (ctx.caller.agencyId !== agencyId) {
    throw new PermissionDeniedError(`only ${agencyId}'s own caseworkers may call ${ctx.method}; caller is ${ctx.caller.agencyId}`);
  }
}

/** A pseudonymous reference: random, so it says nothing about the person. */
export function newCaseRef(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  return 'C-' + [...randomBytes(10)].map((b) => alphabet[b % 32]).join('');
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

export function foreignOfficeApi(rt: AgencyContext<ForeignOfficeDb>): AsyncHandlers<typeof S> {
  const { db, agencyId } = rt;

  async function newcomerOrThrow(trx: typeof db, newcomerId: string) {
    const row = await trx.selectFrom('newcomer').selectAll().where('newcomer_id', '=', newcomerId).executeTakeFirst();
    if (!row) throw new NotFoundError('newcomer_id', newcomerId);
    return row;
  }

  return {
    async registerNewcomer(req, ctx) {
      requireOwnAgency(ctx, agencyId);
      const input = validateRegisterNewcomer(req, rt.now());
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
          return { newcomer: toNewcomer(row) };
        }),
      );
    },

    async recordConsent(req, ctx) {
      requireOwnAgency(ctx, agencyId);
      const input = validateRecordConsent(req, rt.now());
      return rt.transact((trx) =>
        once(trx, { method: 'RecordConsent', requestId: input.requestId, request: req, requestCodec: foreignOffice.RecordConsentRequest }, foreignOffice.RecordConsentResponse, async () => {
          await newcomerOrThrow(trx, input.newcomerId);
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
          return { consent: toConsent(row) };
        }),
      );
    },

    async requestReferral(req, ctx) {
      requireOwnAgency(ctx, agencyId);
      const input = validateRequestReferral(req);
      return rt.transact((trx) =>
        once(trx, { method: 'RequestReferral', requestId: input.requestId, request: req, requestCodec: foreignOffice.RequestReferralRequest }, foreignOffice.RequestReferralResponse, async () => {
          const newcomer = await newcomerOrThrow(trx, input.newcomerId);
          const consents = (await trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomer.newcomer_id).execute()).map(toConsentTerms);
          const now = rt.now();
          const consent = input.consentId ? consents.find((c) => c.consentId === input.consentId) : newestCovering(consents, input.purpose, now);
          if (input.consentId && !consent) throw new NotFoundError('consent_id', input.consentId);
          if (!consent || !newestCovering([consent], input.purpose, now)) {
            throw new PermissionDeniedError(`no consent in force of newcomer ${newcomer.newcomer_id} covers purpose ${common.purposeToJSON(input.purpose)}; nothing was sent`);
          }
          if (input.preferredProviderId && !namesRecipient(consent, { agencyId: input.preferredProviderId, agencyType: 'migration-services' })) {
            throw new PermissionDeniedError(`consent ${consent.consentId} does not name ${input.preferredProviderId} as a recipient; nothing was sent`);
          }
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
          // Thin event: the hub needs the case reference, the consent's recipients and two routing facts.
          await rt.publish(trx, events.ReferralRequested, 'ReferralRequested', {
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
          }, newcomer.case_ref);
          rt.logger.info({ referral_id: referralId, case_ref: newcomer.case_ref }, 'referral requested');
          return { referral: toReferral(row) };
        }),
      );
    },

    async getNewcomer(req, ctx) {
      requireOwnAgency(ctx, agencyId);
      const newcomer = await newcomerOrThrow(db, req.newcomerId);
      const consents = await db.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomer.newcomer_id).orderBy('granted_at').execute();
      return { newcomer: toNewcomer(newcomer), consents: consents.map(toConsent) };
    },

    async listReferrals(req, ctx) {
      requireOwnAgency(ctx, agencyId);
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
      // The answer and its audit row commit together: no disclosure without a record of it.
      const outcome = await rt.transact(async (trx) => {
        const newcomer = await trx.selectFrom('newcomer').selectAll().where('case_ref', '=', input.caseRef).executeTakeFirst();
        if (!newcomer) throw new NotFoundError('case_ref', input.caseRef, 'case');
        const consents = (await trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomer.newcomer_id).execute()).map(toConsentTerms);
        const now = rt.now();
        const consent = consents
          .filter((c) => covers(c, caller, input.purpose, now))
          .sort((a, b) => b.grantedAt.getTime() - a.grantedAt.getTime())[0];
        const categories = consent ? grantedCategories(consent, input.categories) : [];
        const granted = consent !== undefined && categories.length > 0;
        await trx
          .insertInto('data_access_log')
          .values({
            caller_agency_id: caller.agencyId,
            case_ref: input.caseRef,
            purpose: input.purpose,
            categories: granted ? categories : input.categories,
            legal_basis: granted ? `consent:${consent.consentId}` : null,
            outcome: granted ? 'granted' : 'denied',
          })
          .execute();
        return granted ? { newcomer, consent, categories } : undefined;
      });
      if (!outcome) {
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
  };
}
