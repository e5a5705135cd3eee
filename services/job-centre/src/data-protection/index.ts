import { common, dataProtection } from '@lotse/contracts';
import { dataProtectionService } from '@lotse/audit';
import type { Transaction } from '@lotse/db';
import type { AgencyContext, GrpcService } from '@lotse/runtime';
import type { JobCentreDb } from '../db/schema.js';

type Trx = Transaction<JobCentreDb>;

/**
 * The DataProtectionService every agency serves: what this job centre holds about a case that it
 * received from the data owner (the copy fetched under consent, the referral's age group) and its
 * audit entries. Its own SGB II file (customer, plan, placements) and a retention rule for it in
 * policy/retention.json are still to come.
 */
export function jobCentreDataProtection(ctx: AgencyContext<JobCentreDb>): GrpcService<JobCentreDb>[] {
  return [
    dataProtectionService({
      agencyId: ctx.agencyId,
      agencyType: ctx.agencyType,
      db: ctx.db,
      now: ctx.now,
      async holdings(trx: Trx, caseRef: string) {
        const referrals = await trx.selectFrom('intake_referral').selectAll().where('case_ref', '=', caseRef).orderBy('received_at').execute();
        const purposeOf = new Map(referrals.map((r) => [r.referral_id, r.purpose]));
        const records = await trx.selectFrom('newcomer_record').selectAll().where('case_ref', '=', caseRef).orderBy('fetched_at').execute();
        return [
          ...records.map((r) =>
            dataProtection.Holding.fromPartial({
              record: 'received_data',
              categories: r.categories,
              purpose: purposeOf.get(r.referral_id) ?? common.Purpose.PURPOSE_UNSPECIFIED,
              legalBasis: r.legal_basis,
              since: r.fetched_at,
              sourceAgencyId: r.owner_agency_id,
            }),
          ),
          ...referrals
            .filter((r) => r.age_group !== common.AgeGroup.AGE_GROUP_UNSPECIFIED)
            .map((r) =>
              dataProtection.Holding.fromPartial({
                record: 'referral',
                categories: [common.DataCategory.DATA_CATEGORY_AGE_GROUP],
                purpose: r.purpose,
                legalBasis: `consent:${r.consent_id}`,
                since: r.received_at,
                sourceAgencyId: r.referrer_agency_id,
              }),
            ),
        ];
      },
      async owners(trx: Trx, caseRef: string) {
        const referrers = await trx.selectFrom('intake_referral').select('referrer_agency_id').distinct().where('case_ref', '=', caseRef).execute();
        const owners = await trx.selectFrom('newcomer_record').select('owner_agency_id').distinct().where('case_ref', '=', caseRef).execute();
        return [...new Set([...referrers.map((r) => r.referrer_agency_id), ...owners.map((o) => o.owner_agency_id)])];
      },
    }),
  ];
}
