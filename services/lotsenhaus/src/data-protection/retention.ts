import { common } from '@lotse/contracts';
import { appendAudit, expiryCutoff, lockAuditChain, retentionBasis, systemActor, type RetentionResult, type RetentionRule } from '@lotse/audit';
import type { AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import { closedSince, routingFactsOf } from './holdings.js';

/**
 * The hub's retention rule (policy/retention.json, lotsenhaus.routing-facts): a case closed at
 * the hub (no referral requested, pending or accepted) whose referrals have not changed for the
 * period loses its case index entry, referrals and timeline — the routing facts live in all
 * three. One audit entry per case. Erasure tracking (pseudonymous) stays as the record of Art. 19.
 */
export function hubRetention(rt: AgencyContext<HubDb>, rule: RetentionRule): () => Promise<RetentionResult[]> {
  async function deleteIfExpired(caseRef: string, cutoff: Date, now: Date): Promise<boolean> {
    return rt.transact(async (trx) => {
      // The chain's lock first, as in every hub transaction that audits and locks shared rows.
      await lockAuditChain(trx);
      const referrals = await trx.selectFrom('hub_referral').selectAll().where('case_ref', '=', caseRef).orderBy('referral_id').forUpdate().execute();
      const closed = closedSince(referrals);
      if (!closed || closed >= cutoff) return false;
      const categories = [...new Set(referrals.flatMap(routingFactsOf))].sort((a, b) => a - b);
      await trx.deleteFrom('timeline_entry').where('case_ref', '=', caseRef).execute();
      await trx.deleteFrom('hub_referral').where('case_ref', '=', caseRef).execute();
      await trx.deleteFrom('case_index').where('case_ref', '=', caseRef).execute();
      await appendAudit(trx, {
        ...systemActor(rt.agencyId),
        action: 'delete',
        subjectRef: caseRef,
        categories,
        purpose: common.Purpose.PURPOSE_UNSPECIFIED,
        legalBasis: retentionBasis(rule),
        details: { referrals: referrals.length, owner_agency_id: referrals[0]?.referrer_agency_id ?? '', closed_at: closed.toISOString() },
        at: now,
      });
      return true;
    });
  }

  return async () => {
    const now = rt.now();
    const cutoff = expiryCutoff(now, rule.period);
    const candidates = await rt.db.selectFrom('hub_referral').select('case_ref').distinct().where('updated_at', '<', cutoff).execute();
    let deleted = 0;
    for (const { case_ref } of candidates) {
      try {
        if (await deleteIfExpired(case_ref, cutoff, now)) deleted++;
      } catch (error) {
        rt.logger.error({ err: error, case_ref, rule: rule.id }, 'retention: deleting a case failed; tried again next run');
      }
    }
    return [{ rule: rule.id, deleted }];
  };
}
