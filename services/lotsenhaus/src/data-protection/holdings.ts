import { common, dataProtection } from '@lotse/contracts';
import type { Transaction } from '@lotse/db';
import { expiresAt, type RetentionRule } from '@lotse/audit';
import type { HubDb } from '../db/schema.js';

const { ReferralStatus, DataCategory } = common;
type Trx = Transaction<HubDb>;

/** Referrals the hub still routes or follows; a case with none of them is closed at the hub. */
export const OPEN_AT_HUB: readonly number[] = [ReferralStatus.REFERRAL_STATUS_REQUESTED, ReferralStatus.REFERRAL_STATUS_PENDING, ReferralStatus.REFERRAL_STATUS_ACCEPTED];

/** The routing facts a referral row still holds (a withdrawal blanks them), in category order. */
export function routingFactsOf(referral: { municipality: string; age_group: number; languages: string[] }): common.DataCategory[] {
  return [
    ...(referral.languages.length ? [DataCategory.DATA_CATEGORY_LANGUAGES] : []),
    ...(referral.municipality ? [DataCategory.DATA_CATEGORY_MUNICIPALITY] : []),
    ...(referral.age_group ? [DataCategory.DATA_CATEGORY_AGE_GROUP] : []),
  ];
}

/** When a case closed at the hub, if it did: the last change of its referrals. */
export function closedSince(referrals: readonly { status: number; updated_at: Date }[]): Date | undefined {
  if (referrals.length === 0 || referrals.some((r) => OPEN_AT_HUB.includes(r.status))) return undefined;
  return new Date(Math.max(...referrals.map((r) => r.updated_at.getTime())));
}

/** What the hub tells the DataProtectionService: routing facts per referral, and the erasures it tracks. */
export function hubHoldings(rule: RetentionRule) {
  return {
    async holdings(trx: Trx, caseRef: string): Promise<dataProtection.Holding[]> {
      const referrals = await trx.selectFrom('hub_referral').selectAll().where('case_ref', '=', caseRef).orderBy('requested_at').execute();
      const closed = closedSince(referrals);
      return referrals
        .filter((r) => routingFactsOf(r).length > 0)
        .map((r) =>
          dataProtection.Holding.fromPartial({
            record: 'routing_facts',
            categories: routingFactsOf(r),
            purpose: r.purpose,
            legalBasis: `consent:${r.consent_id}`,
            since: r.requested_at,
            retentionUntil: closed ? expiresAt(closed, rule.period) : undefined,
            retentionRule: rule.id,
            sourceAgencyId: r.referrer_agency_id,
          }),
        );
    },

    async owners(trx: Trx, caseRef: string): Promise<string[]> {
      const rows = await trx.selectFrom('hub_referral').select('referrer_agency_id').distinct().where('case_ref', '=', caseRef).execute();
      return rows.map((r) => r.referrer_agency_id);
    },

    /** Every recipient's erasure after a withdrawal, open or confirmed, as the hub tracks them (Art. 19 GDPR). */
    async pendingErasures(trx: Trx, caseRef: string): Promise<dataProtection.Erasure[]> {
      const rows = await trx.selectFrom('erasure_request').selectAll().where('case_ref', '=', caseRef).orderBy('requested_at').execute();
      return rows.map((r) =>
        dataProtection.Erasure.fromPartial({
          status: r.confirmed_at ? 'done' : 'pending',
          categories: r.erased_categories,
          reason: `consent:${r.consent_id} withdrawn`,
          requestedAt: r.requested_at,
          completedAt: r.confirmed_at ?? undefined,
          keptUnder: (r.retained ?? []).map((k) => `${common.dataCategoryToJSON(k.category)}: ${k.statute}`).join('; '),
          recipientAgencyId: r.recipient_agency_id,
        }),
      );
    },
  };
}
