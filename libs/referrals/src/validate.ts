import { common } from '@lotse/contracts';
import { Violations } from '@lotse/grpc';
import { maxFreeCapacity } from './capacity.js';

// Every request is checked whole before anything is read or written, so a caller sees all bad
// fields at once; field names are the proto's snake_case paths.

export interface ReferralCall {
  requestId: string;
  referralId: string;
}

/** A call about one referral: request id and referral id. The caller adds its own fields, then throws. */
export function validateReferralCall(req: ReferralCall) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const referralId = v.text('referral_id', req.referralId, { max: 64 });
  return { v, requestId, referralId };
}

/** A call that names one referral and nothing more (accept, withdraw, fetch): checked and thrown whole. */
export function validatePlainReferralCall(req: ReferralCall) {
  const { v, requestId, referralId } = validateReferralCall(req);
  v.throwIfAny();
  return { requestId, referralId };
}

export function validateDecline(req: ReferralCall & { reason: common.DeclineReason }) {
  const input = validateReferralCall(req);
  input.v.enumValue('reason', req.reason, common.DeclineReason);
  input.v.throwIfAny();
  return { requestId: input.requestId, referralId: input.referralId, reason: req.reason };
}

export function validateComplete(req: ReferralCall & { outcome: common.ReferralOutcome }) {
  const input = validateReferralCall(req);
  input.v.enumValue('outcome', req.outcome, common.ReferralOutcome);
  input.v.throwIfAny();
  return { requestId: input.requestId, referralId: input.referralId, outcome: req.outcome };
}

export interface RequestReferralCall extends ReferralCall {
  caseRef: string;
  purpose: common.Purpose;
  type: common.ReferralType;
  recipientType: string;
}

export function validateRequestReferral(req: RequestReferralCall) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const referralId = v.text('referral_id', req.referralId, { max: 64, required: false });
  const caseRef = v.text('case_ref', req.caseRef, { max: 64, required: false });
  if (!referralId && !caseRef) v.add('referral_id', 'name an own referral of the case (or set case_ref)');
  v.enumValue('purpose', req.purpose, common.Purpose);
  v.enumValue('type', req.type, common.ReferralType);
  const recipientType = v.text('recipient_type', req.recipientType, { max: 64 });
  v.throwIfAny();
  return { requestId, referralId, caseRef, referOn: { purpose: req.purpose, type: req.type, recipientType } };
}

/** A count of free places: a whole number from 0 to maxFreeCapacity. */
export function validateCapacity(req: { requestId: string }, field: string, free: number) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  if (free > maxFreeCapacity) v.add(field, `must be at most ${maxFreeCapacity}`);
  v.throwIfAny();
  return { requestId };
}
