import { randomBytes } from 'node:crypto';
import { NotFoundError, type CallContext } from '@lotse/grpc';
import { handlersFor, type AgencyContext } from '@lotse/runtime';
import type { Kysely, Transaction } from 'kysely';
import type { ForeignOfficeDb } from '../db/schema.js';
import { isOpenWith, standingOf, standingOfReferral, type Standing } from '../domain/disclosure.js';

// What several handlers of the office read of its own records: a newcomer, the consents locked
// in one order, and where a caller stands with a case.

export type ForeignOffice = AgencyContext<ForeignOfficeDb>;
type Reader = Kysely<ForeignOfficeDb>;

/** The office's handlers are declared with these (see libs/runtime's declared handlers). */
export const { unary } = handlersFor<ForeignOffice>();

/** A pseudonymous reference: random, so it says nothing about the person. */
export function newCaseRef(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  return 'C-' + [...randomBytes(10)].map((b) => alphabet[b % 32]).join('');
}

export async function newcomerOrThrow(trx: Reader, newcomerId: string) {
  const row = await trx.selectFrom('newcomer').selectAll().where('newcomer_id', '=', newcomerId).executeTakeFirst();
  if (!row) throw new NotFoundError('newcomer_id', newcomerId);
  return row;
}

/**
 * A newcomer's consents, locked in consent_id order (one order for every caller, so two
 * transactions never wait on each other's rows crosswise).
 */
export function lockedConsents(trx: Transaction<ForeignOfficeDb> | Reader, newcomerId: string, mode: 'share' | 'update') {
  const query = trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomerId).orderBy('consent_id');
  return (mode === 'share' ? query.forShare() : query.forUpdate()).execute();
}

/**
 * A party to a consent besides this office: a deployment that holds data under it (a granted
 * disclosure), or one that a referral of the newcomer is open with and that the consent names.
 * Naming the agency type alone made every provider of the type a party.
 */
export async function isPartyToConsent(trx: Reader, consent: { consent_id: string; newcomer_id: string; recipients: string[] }, caller: CallContext['caller']) {
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

export interface StandingQuery {
  caseRef: string;
  callerId: string;
  purpose: number;
  referralId?: string;
}

/**
 * Where the caller stands with the case, from the office's own record of the hub's events —
 * for the one referral it names, or any of the case's referrals with it when it names none.
 */
export async function standingWith(trx: Reader, q: StandingQuery): Promise<Standing> {
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
export async function hubWordOnItsWay(db: Reader, q: StandingQuery, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    const { kind } = await standingWith(db, q);
    if ((kind !== 'awaiting' && kind !== 'rerouting') || Date.now() + pause > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
