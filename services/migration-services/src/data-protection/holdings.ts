import { common, dataProtection } from '@lotse/contracts';
import type { Transaction } from '@lotse/db';
import { expiresAt, type RetentionRule } from '@lotse/audit';
import type { MigrationServicesDb } from '../db/schema.js';

type Trx = Transaction<MigrationServicesDb>;

/** What a provider tells the DataProtectionService about its tables: copies received, referrals with their routing fact. */
export function providerHoldings(rule: RetentionRule) {
  return {
    async holdings(trx: Trx, caseRef: string): Promise<dataProtection.Holding[]> {
      const referrals = await trx.selectFrom('inbox_referral').selectAll().where('case_ref', '=', caseRef).orderBy('received_at').execute();
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
            retentionUntil: expiresAt(r.fetched_at, rule.period),
            retentionRule: rule.id,
            sourceAgencyId: r.owner_agency_id,
          }),
        ),
        // The referral itself carries a routing fact (the age group) until it is erased or expires.
        ...referrals
          .filter((r) => r.age_group !== common.AgeGroup.AGE_GROUP_UNSPECIFIED)
          .map((r) =>
            dataProtection.Holding.fromPartial({
              record: 'referral',
              categories: [common.DataCategory.DATA_CATEGORY_AGE_GROUP],
              purpose: r.purpose,
              legalBasis: `consent:${r.consent_id}`,
              since: r.received_at,
              retentionUntil: expiresAt(r.received_at, rule.period),
              retentionRule: rule.id,
              sourceAgencyId: r.referrer_agency_id,
            }),
          ),
      ];
    },

    /** The agencies whose data this provider holds or held for the case: the referrers. */
    async owners(trx: Trx, caseRef: string): Promise<string[]> {
      const referrers = await trx.selectFrom('inbox_referral').select('referrer_agency_id').distinct().where('case_ref', '=', caseRef).execute();
      const owners = await trx.selectFrom('newcomer_record').select('owner_agency_id').distinct().where('case_ref', '=', caseRef).execute();
      return [...new Set([...referrers.map((r) => r.referrer_agency_id), ...owners.map((o) => o.owner_agency_id)])];
    },
  };
}
