import { common } from '@lotse/contracts';
import { forgetAnswersNaming } from '@lotse/grpc';
import { expireReceivedData, receivedBefore } from '@lotse/referrals';
import { appendAudit, expiryCutoff, retentionBasis, systemActor, type RetentionResult, type RetentionRule } from '@lotse/audit';
import type { AgencyContext } from '@lotse/runtime';
import type { MigrationServicesDb } from '../db/schema.js';

const { DataCategory, AgeGroup } = common;

/**
 * A provider's retention rule (policy/retention.json, migration-services.received-data): the
 * newcomer's data fetched from the owner is deleted when the period since the fetch has ended,
 * and a referral received longer ago than that loses its routing fact (the age group) — each
 * with its own audit entry. Stored first answers of calls that carried the data go with it.
 */
export function providerRetention(rt: AgencyContext<MigrationServicesDb>, rule: RetentionRule): () => Promise<RetentionResult[]> {
  const { db } = rt;

  async function deleteRecord(referralId: string, cutoff: Date, now: Date): Promise<boolean> {
    return rt.transact(async (trx) => {
      const expired = await expireReceivedData(trx, referralId, cutoff);
      if (!expired) return false;
      const { record } = expired;
      // FetchNewcomerData's stored answer holds the data; it names the consent as its legal basis.
      if (!expired.basisStillUsed) {
        await forgetAnswersNaming(trx, record.legal_basis, ['FetchNewcomerData']);
      }
      await appendAudit(trx, {
        ...systemActor(rt.agencyId),
        action: 'delete',
        subjectRef: record.case_ref,
        categories: record.categories,
        purpose: common.Purpose.PURPOSE_UNSPECIFIED,
        legalBasis: retentionBasis(rule),
        details: { referral_id: referralId, owner_agency_id: record.owner_agency_id, fetched_at: record.fetched_at.toISOString() },
        at: now,
      });
      return true;
    });
  }

  async function clearRoutingFact(referralId: string, cutoff: Date, now: Date): Promise<boolean> {
    return rt.transact(async (trx) => {
      const referral = await trx
        .updateTable('received_referral')
        .set({ age_group: AgeGroup.AGE_GROUP_UNSPECIFIED })
        .where('referral_id', '=', referralId)
        .where('received_at', '<', cutoff)
        .where('age_group', '!=', AgeGroup.AGE_GROUP_UNSPECIFIED)
        .returning(['case_ref', 'referrer_agency_id', 'purpose'])
        .executeTakeFirst();
      if (!referral) return false;
      // Answers of AcceptReferral, DeclineReferral … carry the referral with its age group.
      await forgetAnswersNaming(trx, referralId);
      await appendAudit(trx, {
        ...systemActor(rt.agencyId),
        action: 'delete',
        subjectRef: referral.case_ref,
        categories: [DataCategory.DATA_CATEGORY_AGE_GROUP],
        purpose: referral.purpose,
        legalBasis: retentionBasis(rule),
        details: { referral_id: referralId, owner_agency_id: referral.referrer_agency_id },
        at: now,
      });
      return true;
    });
  }

  return async () => {
    const now = rt.now();
    const cutoff = expiryCutoff(now, rule.period);
    let deleted = 0;
    const attempt = async (what: string, id: string, run: () => Promise<boolean>) => {
      try {
        if (await run()) deleted++;
      } catch (error) {
        rt.logger.error({ err: error, referral_id: id, rule: rule.id }, `retention: deleting ${what} failed; tried again next run`);
      }
    };
    for (const referral_id of await receivedBefore(db, cutoff)) {
      await attempt('received data', referral_id, () => deleteRecord(referral_id, cutoff, now));
    }
    const old = await db.selectFrom('received_referral').select('referral_id').where('received_at', '<', cutoff).where('age_group', '!=', AgeGroup.AGE_GROUP_UNSPECIFIED).execute();
    for (const { referral_id } of old) {
      await attempt('a routing fact', referral_id, () => clearRoutingFact(referral_id, cutoff, now));
    }
    return [{ rule: rule.id, deleted }];
  };
}
