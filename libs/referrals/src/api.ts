import { common } from '@lotse/contracts';
import { once, previousResponse, requireOwnCaseworker as requireOwn, ValidationError, type CallContext } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import { agreementAllows, type AgreementSource } from './agreements.js';
import type { Kysely, Transaction } from 'kysely';
import { publishCapacity, type CapacityOptions } from './capacity.js';
import type { ReferralInbox } from './inbox.js';
import { outgoingReferrals } from './outgoing.js';
import type { OutgoingReferralRow, ReceivedReferralRow } from './tables.js';
import {
  validateCapacity,
  validateComplete,
  validateDecline,
  validateReferralCall,
  validateRequestReferral,
  type ReferralCall,
  type RequestReferralCall,
} from './validate.js';

/** The proto's name of a ts-proto field (freeCounsellingSlots → free_counselling_slots). */
const snakeCase = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** The outgoing referral as the service's API shows it. */
export interface OutgoingReferralFields {
  referralId: string;
  caseRef: string;
  sourceReferralId: string;
  purpose: common.Purpose;
  type: common.ReferralType;
  recipientType: string;
  status: common.ReferralStatus;
  requestedAt: Date;
}

/**
 * The generated messages of a service's referral calls: pass the service's contracts module
 * (`migrationServices`, `jobCentre`). In is its received referral, Out its outgoing referral.
 */
export interface ReferralContracts<In, Out, CapReq, CapRes> {
  AcceptReferralRequest: Codec<ReferralCall>;
  AcceptReferralResponse: Codec<{ referral: In | undefined }>;
  DeclineReferralRequest: Codec<ReferralCall & { reason: common.DeclineReason }>;
  DeclineReferralResponse: Codec<{ referral: In | undefined }>;
  CompleteReferralRequest: Codec<ReferralCall & { outcome: common.ReferralOutcome }>;
  CompleteReferralResponse: Codec<{ referral: In | undefined }>;
  RequestReferralRequest: Codec<RequestReferralCall>;
  RequestReferralResponse: Codec<{ referral: Out | undefined }>;
  WithdrawReferralRequest: Codec<ReferralCall>;
  WithdrawReferralResponse: Codec<{ referral: Out | undefined }>;
  SetCapacityRequest: Codec<CapReq>;
  SetCapacityResponse: Codec<CapRes>;
  OutgoingReferral: { fromPartial(object: OutgoingReferralFields): Out };
}

export interface ReferralApiOptions<DB, Row extends ReceivedReferralRow, In, Out, CapReq, CapRes> {
  inbox: ReferralInbox<DB, Row>;
  contracts: ReferralContracts<In, Out, CapReq, CapRes>;
  /** A received referral as the service's API shows it (with what the service adds to it). */
  message(db: Kysely<DB>, row: Row): Promise<In>;
  /** The cooperation agreements (from the hub): a referral no agreement allows is refused before anything is written. */
  agreements: AgreementSource;
  capacity: CapacityOptions<CapReq>;
  /** The agency holding the newcomer's data, named to the hub when referring on; by default the owner the hub named, else the referrer. */
  ownerOf?(source: Row): string;
  /** Refuses referring on from this referral, before its status is looked at (e.g. no legal basis left). */
  refuseReferOn?(source: Row): void;
}

/**
 * The gRPC handlers of the referral workflow that every receiving agency serves the same way:
 * AcceptReferral, DeclineReferral, CompleteReferral, RequestReferral, WithdrawReferral and
 * SetCapacity. Only the agency's own caseworkers call them; every call is checked whole before
 * anything is written and runs once per request id.
 */
export function referralApi<DB, Row extends ReceivedReferralRow, In, Out, CapReq extends { requestId: string }, CapRes>(
  rt: AgencyContext<DB>,
  options: ReferralApiOptions<DB, Row, In, Out, CapReq, CapRes>,
) {
  const { inbox, contracts: c } = options;
  const outgoing = outgoingReferrals(rt);
  const ownerOf = options.ownerOf ?? ((source: Row) => source.owner_agency_id || source.referrer_agency_id);

  const requireOwnCaseworker = (ctx: CallContext) => requireOwn(ctx, rt.agencyId);

  function toOutgoing(row: OutgoingReferralRow): Out {
    return c.OutgoingReferral.fromPartial({
      referralId: row.referral_id,
      caseRef: row.case_ref,
      sourceReferralId: row.source_referral_id,
      purpose: row.purpose,
      type: row.type,
      recipientType: row.recipient_type,
      status: row.status,
      requestedAt: row.requested_at,
    });
  }

  /** A mutating call: in one transaction, at most once per request id (a retry gets the first answer). */
  function runOnce<Req, Res>(method: string, requestId: string, request: Req, codecs: [Codec<Req>, Codec<Res>], run: (trx: Transaction<DB>) => Promise<Res>) {
    return rt.transact((trx) => once(trx, { method, requestId, request, requestCodec: codecs[0] }, codecs[1], () => run(trx)));
  }

  return {
    async acceptReferral(req: ReferralCall, ctx: CallContext) {
      requireOwnCaseworker(ctx);
      const { v, requestId, referralId } = validateReferralCall(req);
      v.throwIfAny();
      return runOnce('AcceptReferral', requestId, req, [c.AcceptReferralRequest, c.AcceptReferralResponse], async (trx) => ({
        referral: await options.message(trx, await inbox.accept(trx, referralId)),
      }));
    },

    async declineReferral(req: ReferralCall & { reason: common.DeclineReason }, ctx: CallContext) {
      requireOwnCaseworker(ctx);
      const { requestId, referralId, reason } = validateDecline(req);
      return runOnce('DeclineReferral', requestId, req, [c.DeclineReferralRequest, c.DeclineReferralResponse], async (trx) => ({
        referral: await options.message(trx, await inbox.decline(trx, referralId, reason)),
      }));
    },

    async completeReferral(req: ReferralCall & { outcome: common.ReferralOutcome }, ctx: CallContext) {
      requireOwnCaseworker(ctx);
      const { requestId, referralId, outcome } = validateComplete(req);
      return runOnce('CompleteReferral', requestId, req, [c.CompleteReferralRequest, c.CompleteReferralResponse], async (trx) => ({
        referral: await options.message(trx, await inbox.complete(trx, referralId, outcome)),
      }));
    },

    async requestReferral(req: RequestReferralCall, ctx: CallContext) {
      requireOwnCaseworker(ctx);
      const input = validateRequestReferral(req);
      const key = { method: 'RequestReferral', requestId: input.requestId, request: req, requestCodec: c.RequestReferralRequest };
      const previous = await previousResponse(rt.db as Kysely<any>, key, c.RequestReferralResponse);
      if (previous) return previous;
      // The agreements come from the hub (cached); a pair no agreement connects is refused before anything is written.
      const { recipientType, purpose } = input.referOn;
      if (!agreementAllows(await options.agreements.agreements(), rt.agencyType, recipientType, purpose)) {
        throw ValidationError.field('recipient_type', `no cooperation agreement lets ${rt.agencyType} refer to ${recipientType} for ${common.purposeToJSON(purpose)}`);
      }
      return runOnce(key.method, key.requestId, req, [c.RequestReferralRequest, c.RequestReferralResponse], async (trx) => {
        const source = await inbox.referOnSource(trx, input, options.refuseReferOn);
        return { referral: toOutgoing(await outgoing.request(trx, source, input.referOn, ownerOf(source))) };
      });
    },

    async withdrawReferral(req: ReferralCall, ctx: CallContext) {
      requireOwnCaseworker(ctx);
      const { v, requestId, referralId } = validateReferralCall(req);
      v.throwIfAny();
      return runOnce('WithdrawReferral', requestId, req, [c.WithdrawReferralRequest, c.WithdrawReferralResponse], async (trx) => ({
        referral: toOutgoing(await outgoing.withdraw(trx, referralId)),
      }));
    },

    async setCapacity(req: CapReq, ctx: CallContext) {
      requireOwnCaseworker(ctx);
      const { kind, field } = options.capacity;
      const free = req[field] as number;
      const { requestId } = validateCapacity(req, snakeCase(field), free);
      return runOnce('SetCapacity', requestId, req, [c.SetCapacityRequest, c.SetCapacityResponse], async (trx) => {
        await publishCapacity(rt, trx, kind, free);
        return { [field]: free } as CapRes;
      });
    },
  };
}
