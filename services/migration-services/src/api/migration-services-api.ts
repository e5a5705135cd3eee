import { common, events, foreignOffice, migrationServices as ms } from '@lotse/contracts';
import {
  FailedPreconditionError,
  once,
  PermissionDeniedError,
  previousResponse,
  requireOwnCaseworker as requireOwn,
  throwDownstream,
  ValidationError,
  Violations,
  type AsyncHandlers,
  type CallContext,
} from '@lotse/grpc';
import { forwardCaseworker } from '@lotse/audit';
import {
  consentedFetch,
  newcomerDataFields,
  ownerClients,
  receivedReferralReader,
  receivedReferralFields,
  referralApi,
  referralsWithData,
  validateReferralCall,
  type AgreementSource,
  type NewcomerRecordRow,
} from '@lotse/referrals';
import type { AgencyContext } from '@lotse/runtime';
import { createHash } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { InboxReferralTable, MigrationServicesDb } from '../db/schema.js';
import { eraseUnderConsent } from '../domain/erasure.js';
import { providerInbox } from '../events/referral-inbox.js';

const S = ms.MigrationServicesServiceService;
const { InboxStatus } = ms;

function toInboxReferral(row: Selectable<InboxReferralTable>, dataFetched: boolean): ms.InboxReferral {
  return ms.InboxReferral.fromPartial({ ...receivedReferralFields(row), firstContactDate: row.first_contact_date ?? '', dataFetched });
}

function toNewcomerData(row: NewcomerRecordRow): ms.NewcomerData {
  return ms.NewcomerData.fromPartial(newcomerDataFields(row));
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
  const owners = ownerClients(rt, deps.peers);
  const requireOwnCaseworker = (ctx: CallContext) => requireOwn(ctx, agencyId);

  async function hasData(trx: Kysely<MigrationServicesDb>, referralId: string) {
    return (await referralsWithData(trx, [referralId])).has(referralId);
  }

  /** After a withdrawal nothing more is fetched or kept under the referral: no legal basis. */
  function refuseWithdrawn(row: Selectable<InboxReferralTable>) {
    if (row.status === InboxStatus.INBOX_STATUS_WITHDRAWN) {
      throw new PermissionDeniedError(`the consent of referral ${row.referral_id} was withdrawn; its data may no longer be fetched or kept`);
    }
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
      const { rows, nextPageToken } = await inbox.page(db, req);
      const fetched = await referralsWithData(db, rows.map((r) => r.referral_id));
      return { referrals: rows.map((r) => toInboxReferral(r, fetched.has(r.referral_id))), nextPageToken };
    },

    getReferral: receivedReferralReader(rt, inbox, (_trx, row, record) => ({
      referral: toInboxReferral(row, record !== undefined),
      newcomer: record ? toNewcomerData(record) : undefined,
    })),

    // The consented fetch from the owner the hub named (also when another agency referred), else
    // the referrer; never after the consent was withdrawn here.
    fetchNewcomerData: consentedFetch(rt, {
      inbox,
      owners,
      accepted: InboxStatus.INBOX_STATUS_ACCEPTED,
      statusName: ms.inboxStatusToJSON,
      ownerOf: (referral) => referral.owner_agency_id || referral.referrer_agency_id,
      refuse: refuseWithdrawn,
      codecs: [ms.FetchNewcomerDataRequest, ms.FetchNewcomerDataResponse],
      response: (record) => ({ newcomer: toNewcomerData(record) }),
    }),

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
        ({ consents: [consent] } = await owners.of(referral.referrer_agency_id).withdrawConsent({ requestId: forwardedId, consentId: referral.consent_id, newcomerId: '', reason }, { metadata: forwardCaseworker(ctx) }));
      } catch (error) {
        throwDownstream(error, referral.referrer_agency_id);
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
            { referralId, caseRef: row.case_ref, providerId: agencyId, contactDate, channel: req.channel },
            row.case_ref,
          );
          return { referral: toInboxReferral(updated, await hasData(trx, referralId)) };
        }),
      );
    },
  };
}
