import { common, migrationServices } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import { reviseStoredAnswers } from '@lotse/grpc';
import { eraseReceivedData } from '@lotse/referrals';
import type { Transaction } from 'kysely';
import { auditErasure } from '../data-protection/audit-erasure.js';
import type { MigrationServicesDb, RetainedJson } from '../db/schema.js';

const { DataCategory } = common;
const { InboxStatus } = migrationServices;

/**
 * Categories a statute obliges a migration counselling provider to keep after the consent they
 * were received under is withdrawn, with the statute. Today none: counselling under MBE/JMD rests
 * on consent alone, so everything is erased. A category added here is kept (restricted) and
 * reported with its statute in the confirmation.
 */
export const statutoryRetention: ReadonlyMap<common.DataCategory, string> = new Map();

export interface ErasureOutcome {
  /** Everything erased under the consent so far (this and earlier runs). */
  erasedCategories: common.DataCategory[];
  retained: RetainedJson[];
}

/**
 * Stops processing under a withdrawn consent and erases what was received under it: the inbox
 * referrals made under it are withdrawn and lose their routing fact (age group); the newcomer's
 * data fetched under it or for those referrals is deleted, or — for a category a statute obliges
 * the provider to keep — restricted to that category. Idempotent; runs in the caller's
 * transaction and locks the referral rows, so a fetch of the data cannot store it afterwards.
 */
export async function eraseUnderConsent(
  rt: AgencyContext<MigrationServicesDb>,
  trx: Transaction<MigrationServicesDb>,
  consent: { consentId: string; caseRef: string; ownerAgencyId: string; takenHere?: boolean },
): Promise<ErasureOutcome> {
  const now = rt.now();
  const referrals = await trx.selectFrom('received_referral').selectAll().where('consent_id', '=', consent.consentId).orderBy('referral_id').forUpdate().execute();
  const referralIds = referrals.map((r) => r.referral_id);
  const erased = new Set<number>();
  if (referrals.some((r) => r.age_group !== 0)) erased.add(DataCategory.DATA_CATEGORY_AGE_GROUP);
  if (referralIds.length) {
    await trx
      .updateTable('received_referral')
      .set({ status: InboxStatus.INBOX_STATUS_WITHDRAWN })
      .where('referral_id', 'in', referralIds)
      .where('status', 'in', [InboxStatus.INBOX_STATUS_PENDING, InboxStatus.INBOX_STATUS_ACCEPTED])
      .execute();
    await trx.updateTable('received_referral').set({ age_group: 0 }).where('referral_id', 'in', referralIds).execute();
  }
  const copies = await eraseReceivedData(trx, { consentId: consent.consentId, referralIds }, (c) => statutoryRetention.has(c));
  copies.erased.forEach((c) => erased.add(c));
  const retained = new Map([...copies.kept].map((c) => [c as number, statutoryRetention.get(c)!]));
  const bases = new Set([`consent:${consent.consentId}`, ...copies.legalBases]);
  // What this run erased goes into the audit log (a repeated request erases and writes nothing).
  await auditErasure(rt, trx, { ...consent, erased: [...erased], retained: [...retained].map(([category, statute]) => ({ category, statute })) });
  await scrubStoredResponses(trx, bases, new Set(referralIds));
  const earlier = await trx.selectFrom('erasure').selectAll().where('consent_id', '=', consent.consentId).executeTakeFirst();
  earlier?.erased_categories.forEach((c) => erased.add(c));
  earlier?.retained.forEach((r) => retained.set(r.category, r.statute));
  const outcome: ErasureOutcome = {
    erasedCategories: [...erased].sort((a, b) => a - b),
    retained: [...retained].map(([category, statute]) => ({ category, statute })).sort((a, b) => a.category - b.category),
  };
  const values = { erased_categories: outcome.erasedCategories, retained: JSON.stringify(outcome.retained), erased_at: now };
  if (earlier) {
    await trx
      .updateTable('erasure')
      .set({ ...values, withdrawal_taken_here: earlier.withdrawal_taken_here || consent.takenHere === true })
      .where('consent_id', '=', consent.consentId)
      .execute();
  } else {
    await trx
      .insertInto('erasure')
      .values({ consent_id: consent.consentId, case_ref: consent.caseRef, owner_agency_id: consent.ownerAgencyId, withdrawal_taken_here: consent.takenHere === true, requested_at: null, confirmed_at: null, ...values })
      .execute();
  }
  rt.logger.info({ consent_id: consent.consentId, case_ref: consent.caseRef, referrals: referralIds.length, erased: outcome.erasedCategories }, 'erased under withdrawn consent');
  return outcome;
}

/** Stored first answers of mutating calls whose response holds an inbox referral. */
const referralResponses: Record<string, { decode(b: Uint8Array): { referral?: migrationServices.InboxReferral }; encode(m: any): { finish(): Uint8Array } }> = {
  AcceptReferral: migrationServices.AcceptReferralResponse,
  DeclineReferral: migrationServices.DeclineReferralResponse,
  RecordFirstContact: migrationServices.RecordFirstContactResponse,
  WithdrawConsent: migrationServices.WithdrawConsentResponse,
};

/**
 * The idempotency table keeps each call's first answer, so that a retry gets it again. After an
 * erasure those answers must not hold the data either: a fetch's answer (the newcomer's data) is
 * dropped — a retry then asks the owner again and is refused — and the age group is cleared from
 * stored referrals.
 */
async function scrubStoredResponses(trx: Transaction<MigrationServicesDb>, legalBases: Set<string>, referralIds: Set<string>) {
  await reviseStoredAnswers(trx, ['FetchNewcomerData', ...Object.keys(referralResponses)], (method, bytes) => {
    if (method === 'FetchNewcomerData') {
      const { newcomer } = migrationServices.FetchNewcomerDataResponse.decode(bytes);
      return newcomer && legalBases.has(newcomer.legalBasis) ? 'forget' : 'keep';
    }
    const codec = referralResponses[method]!;
    const response = codec.decode(bytes);
    if (!response.referral || !referralIds.has(response.referral.referralId) || response.referral.ageGroup === 0) return 'keep';
    response.referral.ageGroup = 0;
    return codec.encode(response).finish();
  });
}
