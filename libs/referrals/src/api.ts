import { common } from '@lotse/contracts';
import { once, previousResponse, ValidationError } from '@lotse/grpc';
import { unary, type Declared } from '@lotse/runtime';
import { agreementAllows } from './agreements.js';
import type { Kysely } from 'kysely';
import { publishCapacity, type CapacityOptions } from './capacity.js';
import { outgoingReferrals } from './outgoing.js';
import { ownTransaction, type Codec, type ReceivingAgency, type UnaryMethod } from './receiving-agency.js';
import type { OutgoingReferralRow, ReceivedReferralRow } from './tables.js';
import {
  validateCapacity,
  validateComplete,
  validateDecline,
  validatePlainReferralCall,
  validateRequestReferral,
  type ReferralCall,
  type RequestReferralCall,
} from './validate.js';

/** The proto's name of a ts-proto field (freeCounsellingSlots → free_counselling_slots). */
const snakeCase = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

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
 * The shared referral methods of a service's definition (`jobCentre.JobCentreServiceService`).
 * In is its received referral, Out its outgoing referral.
 */
export interface ReferralMethods<In, Out, CapReq, CapRes> {
  acceptReferral: UnaryMethod<ReferralCall, { referral?: In | undefined }>;
  declineReferral: UnaryMethod<ReferralCall & { reason: common.DeclineReason }, { referral?: In | undefined }>;
  completeReferral: UnaryMethod<ReferralCall & { outcome: common.ReferralOutcome }, { referral?: In | undefined }>;
  requestReferral: UnaryMethod<RequestReferralCall, { referral?: Out | undefined }>;
  withdrawReferral: UnaryMethod<ReferralCall, { referral?: Out | undefined }>;
  setCapacity: UnaryMethod<CapReq, CapRes>;
}

/** The generated messages the shared handlers need besides the methods: pass the service's contracts module. */
export interface ReferralContracts<Out> {
  RequestReferralRequest: Codec<RequestReferralCall>;
  RequestReferralResponse: Codec<{ referral?: Out | undefined }>;
  OutgoingReferral: { fromPartial(object: OutgoingReferralFields): Out };
}

export interface ReferralHandlerOptions<R, DB, Row extends ReceivedReferralRow, In, Out, CapReq, CapRes> {
  methods: ReferralMethods<In, Out, CapReq, CapRes>;
  contracts: ReferralContracts<Out>;
  /** A received referral as the service's API shows it (with what the service adds to it). */
  message(db: Kysely<DB>, row: Row): Promise<In>;
  capacity: CapacityOptions<CapReq>;
  /** The agency holding the newcomer's data, named to the hub when referring on; by default the owner the hub named, else the referrer. */
  ownerOf?(source: Row, rt: R): string;
  /** Refuses referring on from this referral, before its status is looked at (e.g. no legal basis left). */
  refuseReferOn?(source: Row): void;
}

/**
 * The declared handlers of the referral workflow that every receiving agency serves the same way:
 * AcceptReferral, DeclineReferral, CompleteReferral, RequestReferral, WithdrawReferral and
 * SetCapacity. Only the agency's own caseworkers call them; every call is checked whole before
 * anything is written and runs once per request id.
 */
export function referralHandlers<R extends ReceivingAgency<DB, Row>, DB, Row extends ReceivedReferralRow, In, Out, CapReq extends { requestId: string }, CapRes>(
  options: ReferralHandlerOptions<R, DB, Row, In, Out, CapReq, CapRes>,
): Record<keyof ReferralMethods<In, Out, CapReq, CapRes>, Declared<R>> {
  const { methods: m, contracts: c } = options;
  const ownerOf = options.ownerOf ?? ((source: Row) => source.owner_agency_id || source.referrer_agency_id);

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

  return {
    acceptReferral: unary(m.acceptReferral, {
      access: 'self',
      validate: validatePlainReferralCall,
      idempotent: true,
      handle: async ({ referralId }, call) => {
        const trx = ownTransaction<DB>(call);
        return { referral: await options.message(trx, await call.rt.inbox.accept(trx, referralId)) };
      },
    }),

    declineReferral: unary(m.declineReferral, {
      access: 'self',
      validate: (req) => validateDecline(req),
      idempotent: true,
      handle: async ({ referralId, reason }, call) => {
        const trx = ownTransaction<DB>(call);
        return { referral: await options.message(trx, await call.rt.inbox.decline(trx, referralId, reason)) };
      },
    }),

    completeReferral: unary(m.completeReferral, {
      access: 'self',
      validate: (req) => validateComplete(req),
      idempotent: true,
      handle: async ({ referralId, outcome }, call) => {
        const trx = ownTransaction<DB>(call);
        return { referral: await options.message(trx, await call.rt.inbox.complete(trx, referralId, outcome)) };
      },
    }),

    // Not in one declared transaction: the agreements may have to come from the hub first, and
    // nothing waits on another agency while holding the database.
    requestReferral: unary(m.requestReferral, {
      access: 'self',
      validate: (req) => validateRequestReferral(req),
      async handle(input, { rt, request }) {
        const key = { method: 'RequestReferral', requestId: input.requestId, request, requestCodec: c.RequestReferralRequest };
        const previous = await previousResponse(rt.db as Kysely<any>, key, c.RequestReferralResponse);
        if (previous) return previous;
        // The agreements come from the hub (cached); a pair no agreement connects is refused before anything is written.
        const { recipientType, purpose } = input.referOn;
        if (!agreementAllows(await rt.agreements.agreements(), rt.agencyType, recipientType, purpose)) {
          throw ValidationError.field('recipient_type', `no cooperation agreement lets ${rt.agencyType} refer to ${recipientType} for ${common.purposeToJSON(purpose)}`);
        }
        return rt.transact((trx) =>
          once(trx, key, c.RequestReferralResponse, async () => {
            const source = await rt.inbox.referOnSource(trx, input, options.refuseReferOn);
            return { referral: toOutgoing(await outgoingReferrals(rt).request(trx, source, input.referOn, ownerOf(source, rt))) };
          }),
        );
      },
    }),

    withdrawReferral: unary(m.withdrawReferral, {
      access: 'self',
      validate: validatePlainReferralCall,
      idempotent: true,
      handle: async ({ referralId }, call) => ({ referral: toOutgoing(await outgoingReferrals(call.rt).withdraw(ownTransaction<DB>(call), referralId)) }),
    }),

    setCapacity: unary(m.setCapacity, {
      access: 'self',
      validate: (req) => {
        const free = req[options.capacity.field] as number;
        return { ...validateCapacity(req, snakeCase(options.capacity.field), free), free };
      },
      idempotent: true,
      async handle({ free }, call) {
        await publishCapacity(call.rt, ownTransaction<DB>(call), options.capacity.kind, free);
        return { [options.capacity.field]: free } as CapRes;
      },
    }),
  };
}
