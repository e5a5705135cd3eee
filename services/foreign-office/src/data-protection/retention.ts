import { common } from '@lotse/contracts';
import { forgetAnswersNaming } from '@lotse/grpc';
import { appendAudit, expiryCutoff, lockAuditChain, retentionBasis, systemActor, type RetentionResult, type RetentionRule } from '@lotse/audit';
import type { AgencyContext } from '@lotse/runtime';
import type { ForeignOfficeDb } from '../db/schema.js';
import { toConsentTerms } from '../api/mappers.js';
import { caseClosure } from './case-closure.js';

/**
 * The foreign office's retention rule: a newcomer whose case is closed (no open referral, no
 * consent in force) and has seen nothing for the rule's period is deleted from the register with
 * their consents, referrals and the stored first answers of calls that named them; one audit
 * entry per newcomer records it. The disclosure register and the audit log keep only the
 * pseudonymous case reference.
 */
export function foreignOfficeRetention(rt: AgencyContext<ForeignOfficeDb>, rule: RetentionRule): () => Promise<RetentionResult[]> {
  async function deleteIfExpired(newcomerId: string, now: Date, cutoff: Date): Promise<boolean> {
    return rt.transact(async (trx) => {
      // The chain's lock first, as in every transaction here that audits and locks shared rows.
      await lockAuditChain(trx);
      // Locked, so a caseworker's consent or referral for this newcomer waits for the decision.
      const newcomer = await trx.selectFrom('newcomer').select(['newcomer_id', 'case_ref', 'registered_at']).where('newcomer_id', '=', newcomerId).forUpdate().executeTakeFirst();
      if (!newcomer) return false;
      const consents = (await trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomerId).execute()).map(toConsentTerms);
      const referrals = await trx.selectFrom('referral').select(['referral_id', 'status', 'updated_at']).where('newcomer_id', '=', newcomerId).execute();
      // Onward referrals other agencies made under the office's consents keep the case open too.
      const onward = await trx.selectFrom('referral_recipient').select(['referral_id', 'status', 'updated_at']).where('case_ref', '=', newcomer.case_ref).execute();
      const { closed, lastActivity } = caseClosure(newcomer.registered_at, consents, [...referrals, ...onward], now);
      if (!closed || lastActivity >= cutoff) return false;
      const consentIds = consents.map((c) => c.consentId);
      if (consentIds.length) await trx.deleteFrom('consent_withdrawal').where('consent_id', 'in', consentIds).execute();
      await trx.deleteFrom('referral_recipient').where('case_ref', '=', newcomer.case_ref).execute();
      await trx.deleteFrom('referral').where('newcomer_id', '=', newcomerId).execute();
      await trx.deleteFrom('consent').where('newcomer_id', '=', newcomerId).execute();
      // The first answers of RegisterNewcomer, RecordConsent, RequestReferral … kept for retries name the newcomer.
      const stored = await forgetAnswersNaming(trx, newcomerId);
      await trx.deleteFrom('newcomer').where('newcomer_id', '=', newcomerId).execute();
      await appendAudit(trx, {
        ...systemActor(rt.agencyId),
        action: 'delete',
        subjectRef: newcomer.case_ref,
        categories: rule.categories,
        purpose: common.Purpose.PURPOSE_UNSPECIFIED,
        legalBasis: retentionBasis(rule),
        details: {
          newcomer_id: newcomerId,
          consents: consentIds.length,
          referrals: referrals.length,
          stored_answers: stored,
          last_activity: lastActivity.toISOString(),
        },
        at: now,
      });
      rt.logger.info({ newcomer_id: newcomerId, case_ref: newcomer.case_ref, rule: rule.id }, 'retention: newcomer deleted');
      return true;
    });
  }

  return async () => {
    const now = rt.now();
    const cutoff = expiryCutoff(now, rule.period);
    // Nothing registered since the cutoff can have expired (the last activity is never earlier).
    const candidates = await rt.db.selectFrom('newcomer').select('newcomer_id').where('registered_at', '<', cutoff).orderBy('registered_at').execute();
    let deleted = 0;
    for (const { newcomer_id } of candidates) {
      try {
        if (await deleteIfExpired(newcomer_id, now, cutoff)) deleted++;
      } catch (error) {
        rt.logger.error({ err: error, newcomer_id, rule: rule.id }, 'retention: deleting a newcomer failed; tried again next run');
      }
    }
    return [{ rule: rule.id, deleted }];
  };
}
