import { common, dataProtection } from '@lotse/contracts';
import type { Transaction } from '@lotse/db';
import { expiresAt, type RetentionRule } from '@lotse/audit';
import type { ForeignOfficeDb } from '../db/schema.js';
import { toConsentTerms } from '../api/mappers.js';
import { caseClosure } from './case-closure.js';
import { REGISTER_BASIS } from './legal-bases.js';

const { DataCategory } = common;
type Trx = Transaction<ForeignOfficeDb>;

/** Every category the register holds about a newcomer. */
export const REGISTER_CATEGORIES = [
  DataCategory.DATA_CATEGORY_IDENTITY,
  DataCategory.DATA_CATEGORY_NATIONALITY,
  DataCategory.DATA_CATEGORY_LANGUAGES,
  DataCategory.DATA_CATEGORY_RESIDENCE_STATUS,
  DataCategory.DATA_CATEGORY_MUNICIPALITY,
];

/** What the foreign office tells the DataProtectionService about its tables. */
export function foreignOfficeHoldings(agencyId: string, rule: RetentionRule, now: () => Date) {
  return {
    async holdings(trx: Trx, caseRef: string): Promise<dataProtection.Holding[]> {
      const newcomer = await trx.selectFrom('newcomer').select(['newcomer_id', 'registered_at']).where('case_ref', '=', caseRef).executeTakeFirst();
      if (!newcomer) return [];
      const consents = (await trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomer.newcomer_id).execute()).map(toConsentTerms);
      const referrals = await trx.selectFrom('referral').select(['status', 'updated_at']).where('newcomer_id', '=', newcomer.newcomer_id).execute();
      const { closed, lastActivity } = caseClosure(newcomer.registered_at, consents, referrals, now());
      return [
        dataProtection.Holding.fromPartial({
          record: 'newcomer_register',
          categories: REGISTER_CATEGORIES,
          purpose: common.Purpose.PURPOSE_UNSPECIFIED,
          legalBasis: REGISTER_BASIS,
          since: newcomer.registered_at,
          retentionUntil: closed ? expiresAt(lastActivity, rule.period) : undefined,
          retentionRule: rule.id,
        }),
      ];
    },

    /** The foreign office owns every case in its register. */
    async owners(trx: Trx, caseRef: string): Promise<string[]> {
      const found = await trx.selectFrom('newcomer').select('newcomer_id').where('case_ref', '=', caseRef).executeTakeFirst();
      return found ? [agencyId] : [];
    },
  };
}
