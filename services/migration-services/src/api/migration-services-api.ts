import { status } from '@grpc/grpc-js';
import { common, events, foreignOffice, migrationServices as ms } from '@lotse/contracts';
import {
  createClient,
  FailedPreconditionError,
  isServiceError,
  once,
  pageSize,
  PermissionDeniedError,
  previousResponse,
  UnavailableError,
  ValidationError,
  Violations,
  type AsyncHandlers,
  type CallContext,
  type PromiseClient,
} from '@lotse/grpc';
import { actorOfCall, appendAudit, forwardCaseworker } from '@lotse/audit';
import { referralApi, validateReferralCall } from '@lotse/referrals';
import type { AgencyContext, AgreementSource } from '@lotse/runtime';
import { createHash } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { InboxReferralTable, MigrationServicesDb, NewcomerRecordTable } from '../db/schema.js';
import { eraseUnderConsent } from '../domain/erasure.js';
import { providerInbox } from '../events/referral-inbox.js';

const S = ms.MigrationServicesServiceService;
const { InboxStatus } = ms;

function toInboxReferral(row: Selectable<InboxReferralTable>, dataFetched: boolean): ms.InboxReferral {
  return ms.InboxReferral.fromPartial({
    referralId: row.referral_id,
    caseRef: row.case_ref,
    referrerAgencyId: row.referrer_agency_id,
    purpose: row.purpose,
    ageGroup: row.age_group,
    status: row.status,
    declineReason: row.decline_reason,
    receivedAt: row.received_at,
    decidedAt: row.decided_at ?? undefined,
    firstContactDate: row.first_contact_date ?? '',
    dataFetched,
    outcome: row.outcome,
  });
}

function toNewcomerData(row: Selectable<NewcomerRecordTable>): ms.NewcomerData {
  return ms.NewcomerData.fromPartial({
    categories: row.categories,
    givenNames: row.given_names ?? '',
    familyName: row.family_name ?? '',
    birthDate: row.birth_date ?? '',
    nationality: row.nationality ?? '',
    languages: row.languages ?? [],
    municipality: row.municipality ?? '',
    residenceStatus: row.residence_status ?? '',
    legalBasis: row.legal_basis,
  });
}

export interface MigrationServicesDeps {
  /** Addresses of the agencies that own newcomers' data (the foreign offices), by agency id. */
  peers: ReadonlyMap<string, string>;
  /** The cooperation agreements (from the hub): a referral no agreement allows is refused here. */
  agreements: AgreementSource;
}

export function migrationServicesApi(rt: AgencyContext<MigrationServicesDb>, deps: MigrationServicesDeps): AsyncHandlers<typeof S> {
  const { db, agencyId } = rt;
  const inbox = providerInbox(rt);
  const owners = new Map<string, PromiseClient<foreignOffice.ForeignOfficeServiceClient>>();

  function ownerClient(ownerId: string) {
    let client = owners.get(ownerId);
    if (!client) {
      const address = deps.peers.get(ownerId);
      if (!address) throw new UnavailableError(`no address is configured for agency ${ownerId} (PEERS)`);
      // The owner answers UNAVAILABLE while an acceptance is still on its way to it, and
      // RESOURCE_EXHAUSTED when it is saturated: tried again.
      client = createClient(foreignOffice.ForeignOfficeServiceClient, address, rt.identity, { serverAgencyId: ownerId, retry: {} });
      owners.set(ownerId, client);
    }
    return client;
  }

  function requireOwnCaseworker(ctx: CallContext): void {
    if (ctx.caller.agencyId !== agencyId) throw new PermissionDeniedError(`only ${agencyId}'s own caseworkers may call ${ctx.method}`);
  }

  async function hasData(trx: Kysely<MigrationServicesDb>, referralId: string) {
    return (await trx.selectFrom('newcomer_record').select('referral_id').where('referral_id', '=', referralId).executeTakeFirst()) !== undefined;
  }

  /** After a withdrawal nothing more is fetched or kept under the referral: no legal basis. */
  function refuseWithdrawn(row: Selectable<InboxReferralTable>) {
    if (row.status === InboxStatus.INBOX_STATUS_WITHDRAWN) {
      throw new PermissionDeniedError(`the consent of referral ${row.referral_id} was withdrawn; its data may no longer be fetched or kept`);
    }
  }

  /** A downstream agency's unavailability is ours to report as UNAVAILABLE; other statuses pass through. */
  function downstream(ownerId: string, error: unknown): never {
    if (isServiceError(error) && (error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED)) {
      throw new UnavailableError(`${ownerId} cannot be reached: ${error.details}`);
    }
    throw error;
  }

  return {
    // AcceptReferral, DeclineReferral, CompleteReferral, RequestReferral, WithdrawReferral, SetCapacity.
    ...referralApi(rt, {
      inbox,
      contracts: ms,
      message: async (trx, row) => toInboxReferral(row, await hasData(trx, row.referral_id)),
      agreements: deps.agreements,
      capacity: { kind: common.CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, field: 'freeCounsellingSlots' },
      // A case whose consent was withdrawn is not referred on: no legal basis left.
      refuseReferOn: refuseWithdrawn,
    }),

    async listReferrals(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      v.enumValue('status', req.status, InboxStatus, { required: false });
      v.throwIfAny();
      const limit = pageSize(req.pageSize);
      let query = db.selectFrom('inbox_referral').selectAll().orderBy('referral_id').limit(limit + 1);
      if (req.status) query = query.where('status', '=', req.status);
      if (req.pageToken) query = query.where('referral_id', '>', req.pageToken);
      const rows = await query.execute();
      const page = rows.slice(0, limit);
      const fetched = new Set(
        page.length
          ? (await db.selectFrom('newcomer_record').select('referral_id').where('referral_id', 'in', page.map((r) => r.referral_id)).execute()).map((r) => r.referral_id)
          : [],
      );
      return { referrals: page.map((r) => toInboxReferral(r, fetched.has(r.referral_id))), nextPageToken: rows.length > limit ? page[page.length - 1]!.referral_id : '' };
    },

    async getReferral(req, ctx) {
      requireOwnCaseworker(ctx);
      const v = new Violations();
      const referralId = v.text('referral_id', req.referralId, { max: 64 });
      v.throwIfAny();
      const actor = actorOfCall(ctx);
      // Reading the newcomer's data is on record, in the same transaction.
      return rt.transact(async (trx) => {
        const row = await inbox.get(trx, referralId);
        const record = await trx.selectFrom('newcomer_record').selectAll().where('referral_id', '=', row.referral_id).executeTakeFirst();
        if (record) {
          await appendAudit(trx, {
            ...actor,
            action: 'read',
            subjectRef: record.case_ref,
            categories: record.categories,
            purpose: row.purpose,
            legalBasis: record.legal_basis,
            details: { referral_id: row.referral_id, owner_agency_id: record.owner_agency_id },
            at: rt.now(),
          });
        }
        return { referral: toInboxReferral(row, record !== undefined), newcomer: record ? toNewcomerData(record) : undefined };
      });
    },

    async fetchNewcomerData(req, ctx) {
      requireOwnCaseworker(ctx);
      const { v, requestId, referralId } = validateReferralCall(req);
      v.throwIfAny();
      const actor = actorOfCall(ctx);
      const key = { method: 'FetchNewcomerData', requestId, request: req, requestCodec: ms.FetchNewcomerDataRequest };
      // A retry must not disclose again: answer it from the stored first result.
      const previous = await previousResponse(db, key, ms.FetchNewcomerDataResponse);
      if (previous) return previous;
      const referral = await inbox.get(db, referralId);
      refuseWithdrawn(referral);
      if (referral.status !== InboxStatus.INBOX_STATUS_ACCEPTED) {
        throw new FailedPreconditionError(`referral ${referralId} is ${ms.inboxStatusToJSON(referral.status)}; accept it before fetching the newcomer's data`);
      }
      // The hub names the data owner (the foreign office) also when another agency referred.
      const ownerId = referral.owner_agency_id || referral.referrer_agency_id;
      // The gRPC call runs outside any transaction: never hold the database while waiting on another agency.
      let disclosed: foreignOffice.DiscloseNewcomerDataResponse;
      try {
        disclosed = await ownerClient(ownerId).discloseNewcomerData({ caseRef: referral.case_ref, purpose: referral.purpose, categories: [], referralId: referral.referral_id }, { metadata: forwardCaseworker(ctx) });
      } catch (error) {
        if (isServiceError(error) && (error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED)) {
          throw new UnavailableError(`${ownerId} cannot be reached: ${error.details}`);
        }
        throw error;
      }
      const has = (c: common.DataCategory) => disclosed.grantedCategories.includes(c);
      return rt.transact((trx) =>
        once(trx, key, ms.FetchNewcomerDataResponse, async () => {
          // FOR UPDATE: an erasure under a withdrawn consent (which locks the same row) either ran
          // before — then nothing is kept — or waits until this is stored, and erases it.
          const current = await trx.selectFrom('inbox_referral').selectAll().where('referral_id', '=', referralId).forUpdate().executeTakeFirstOrThrow();
          refuseWithdrawn(current);
          const values = {
            case_ref: referral.case_ref,
            owner_agency_id: ownerId,
            consent_id: disclosed.consentId,
            legal_basis: disclosed.legalBasis,
            categories: disclosed.grantedCategories,
            given_names: has(common.DataCategory.DATA_CATEGORY_IDENTITY) ? disclosed.givenNames : null,
            family_name: has(common.DataCategory.DATA_CATEGORY_IDENTITY) ? disclosed.familyName : null,
            birth_date: has(common.DataCategory.DATA_CATEGORY_IDENTITY) ? disclosed.birthDate : null,
            nationality: has(common.DataCategory.DATA_CATEGORY_NATIONALITY) ? disclosed.nationality : null,
            languages: has(common.DataCategory.DATA_CATEGORY_LANGUAGES) ? disclosed.languages : null,
            municipality: has(common.DataCategory.DATA_CATEGORY_MUNICIPALITY) ? disclosed.municipality : null,
            residence_status: has(common.DataCategory.DATA_CATEGORY_RESIDENCE_STATUS) ? foreignOffice.residenceStatusToJSON(disclosed.residenceStatus) : null,
            fetched_at: rt.now(),
          };
          const record = await trx
            .insertInto('newcomer_record')
            .values({ referral_id: referralId, ...values })
            .onConflict((oc) => oc.column('referral_id').doUpdateSet(values))
            .returningAll()
            .executeTakeFirstOrThrow();
          await rt.publish(
            trx,
            events.NewcomerDataReceived,
            'NewcomerDataReceived',
            { referralId, caseRef: referral.case_ref, providerId: agencyId, ownerAgencyId: ownerId, categories: disclosed.grantedCategories },
            referral.case_ref,
          );
          rt.logger.info({ referral_id: referralId, categories: disclosed.grantedCategories }, 'consented data received');
          await appendAudit(trx, {
            ...actor,
            action: 'fetch',
            subjectRef: referral.case_ref,
            categories: disclosed.grantedCategories,
            purpose: referral.purpose,
            legalBasis: disclosed.legalBasis,
            details: { referral_id: referralId, owner_agency_id: ownerId },
            at: rt.now(),
          });
          return { newcomer: toNewcomerData(record) };
        }),
      );
    },

    async withdrawConsent(req, ctx) {
      requireOwnCaseworker(ctx);
      const { v, requestId, referralId } = validateReferralCall(req);
      const reason = v.text('reason', req.reason, { max: 500, required: false });
      v.throwIfAny();
      const key = { method: 'WithdrawConsent', requestId, request: req, requestCodec: ms.WithdrawConsentRequest };
      const previous = await previousResponse(db, key, ms.WithdrawConsentResponse);
      if (previous) return previous;
      const referral = await inbox.get(db, referralId);
      // Passed on to the owner first, synchronously: the withdrawal counts once the owner has it.
      // The forwarded request id is derived from ours, so a retry here is a retry there.
      const forwardedId = `${agencyId}:${requestId}`.length <= 128 ? `${agencyId}:${requestId}` : `${agencyId}:${createHash('sha256').update(requestId).digest('hex').slice(0, 40)}`;
      let consent: foreignOffice.Consent | undefined;
      try {
        ({ consents: [consent] } = await ownerClient(referral.referrer_agency_id).withdrawConsent({ requestId: forwardedId, consentId: referral.consent_id, newcomerId: '', reason }, { metadata: forwardCaseworker(ctx) }));
      } catch (error) {
        downstream(referral.referrer_agency_id, error);
      }
      return rt.transact((trx) =>
        once(trx, key, ms.WithdrawConsentResponse, async () => {
          // Stop processing and erase here at once; the hub's erasure request then only confirms.
          await eraseUnderConsent(rt, trx, { consentId: referral.consent_id, caseRef: referral.case_ref, ownerAgencyId: referral.referrer_agency_id, takenHere: true });
          const row = await inbox.get(trx, referralId);
          rt.logger.info({ referral_id: referralId, consent_id: referral.consent_id }, 'consent withdrawn here and passed on to the owner');
          return {
            consentId: referral.consent_id,
            ownerAgencyId: referral.referrer_agency_id,
            withdrawnAt: consent?.withdrawnAt,
            referral: toInboxReferral(row, await hasData(trx, referralId)),
          };
        }),
      );
    },

    async recordFirstContact(req, ctx) {
      requireOwnCaseworker(ctx);
      const { v, requestId, referralId } = validateReferralCall(req);
      const contactDate = v.isoDate('contact_date', req.contactDate, { notInFuture: true, today: rt.now() });
      v.enumValue('channel', req.channel, common.ContactChannel);
      v.throwIfAny();
      return rt.transact((trx) =>
        once(trx, { method: 'RecordFirstContact', requestId, request: req, requestCodec: ms.RecordFirstContactRequest }, ms.RecordFirstContactResponse, async () => {
          const row = await inbox.get(trx, referralId);
          if (row.status !== InboxStatus.INBOX_STATUS_ACCEPTED) {
            throw new FailedPreconditionError(`referral ${referralId} is ${ms.inboxStatusToJSON(row.status)}; only an accepted referral has a first contact`);
          }
          if (row.first_contact_date) throw new FailedPreconditionError(`referral ${referralId} already has its first contact on ${row.first_contact_date}`);
          if (contactDate < row.received_at.toISOString().slice(0, 10)) {
            throw ValidationError.field('contact_date', 'must not be before the referral was received');
          }
          const updated = await trx
            .updateTable('inbox_referral')
            .set({ first_contact_date: contactDate, contact_channel: req.channel, interpreter_used: req.interpreterUsed })
            .where('referral_id', '=', referralId)
            .returningAll()
            .executeTakeFirstOrThrow();
          await rt.publish(
            trx,
            events.FirstContactRecorded,
            'FirstContactRecorded',
            { referralId, caseRef: row.case_ref, providerId: agencyId, contactDate, channel: req.channel },
            row.case_ref,
          );
          return { referral: toInboxReferral(updated, await hasData(trx, referralId)) };
        }),
      );
    },
  };
}
