import { common, events, type foreignOffice } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { Selectable, Transaction } from 'kysely';
import { toWithdrawnConsent } from '../api/mappers.js';
import type { ConsentTable, ForeignOfficeDb } from '../db/schema.js';

const { ReferralStatus: S } = common;

/** Referral states a withdrawal closes: everything not already declined, unroutable or withdrawn. */
export const openReferralStatuses = [S.REFERRAL_STATUS_REQUESTED, S.REFERRAL_STATUS_PENDING, S.REFERRAL_STATUS_ACCEPTED, S.REFERRAL_STATUS_COUNSELLING_STARTED];

/**
 * Withdraws consents whose rows the caller has locked FOR UPDATE, in its transaction: marks each
 * withdrawn, closes its open referrals, and tells the hub (ConsentWithdrawn, through the outbox)
 * whom this office disclosed data to under it, so that every recipient erases. A consent already
 * withdrawn stays as it was (the first withdrawal counts).
 */
export async function withdrawConsents(
  rt: AgencyContext<ForeignOfficeDb>,
  trx: Transaction<ForeignOfficeDb>,
  consents: Selectable<ConsentTable>[],
  by: { receivedBy: string; reason: string | null },
): Promise<foreignOffice.Consent[]> {
  const out: foreignOffice.Consent[] = [];
  for (const consent of consents) {
    if (consent.withdrawn_at) {
      const earlier = await trx.selectFrom('consent_withdrawal').selectAll().where('consent_id', '=', consent.consent_id).executeTakeFirst();
      out.push(toWithdrawnConsent(consent, earlier));
      continue;
    }
    const now = rt.now();
    const { case_ref: caseRef } = await trx.selectFrom('newcomer').select('case_ref').where('newcomer_id', '=', consent.newcomer_id).executeTakeFirstOrThrow();
    const updated = await trx.updateTable('consent').set({ withdrawn_at: now }).where('consent_id', '=', consent.consent_id).returningAll().executeTakeFirstOrThrow();
    // Everyone this office gave data to under the consent; complete, because disclosures hold the
    // consent row FOR SHARE until they commit and this transaction holds it FOR UPDATE.
    const recipients = await trx
      .selectFrom('data_access_log')
      .select('caller_agency_id')
      .distinct()
      .where('legal_basis', '=', `consent:${consent.consent_id}`)
      .where('outcome', '=', 'granted')
      .orderBy('caller_agency_id')
      .execute();
    const withdrawal = await trx
      .insertInto('consent_withdrawal')
      .values({
        consent_id: consent.consent_id,
        received_by_agency_id: by.receivedBy,
        reason: by.reason,
        withdrawn_at: now,
        recipients_known: recipients.map((r) => r.caller_agency_id),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const closed = await trx
      .updateTable('referral')
      .set({ status: S.REFERRAL_STATUS_WITHDRAWN, updated_at: now })
      .where('consent_id', '=', consent.consent_id)
      .where('status', 'in', openReferralStatuses)
      .returning('referral_id')
      .execute();
    // Closed for disclosure at once, not only when the hub's status change comes back.
    if (closed.length) {
      await trx.updateTable('referral_recipient').set({ status: S.REFERRAL_STATUS_WITHDRAWN, updated_at: now }).where('referral_id', 'in', closed.map((r) => r.referral_id)).execute();
    }
    await rt.publish(
      trx,
      events.ConsentWithdrawn,
      {
        consentId: consent.consent_id,
        caseRef,
        withdrawnAt: now,
        recipientsKnown: withdrawal.recipients_known,
        receivedByAgencyId: by.receivedBy,
        withdrawnReferralIds: closed.map((r) => r.referral_id),
      },
      caseRef,
    );
    rt.logger.info(
      { consent_id: consent.consent_id, case_ref: caseRef, received_by: by.receivedBy, referrals_closed: closed.length, recipients: withdrawal.recipients_known },
      'consent withdrawn',
    );
    out.push(toWithdrawnConsent(updated, withdrawal));
  }
  return out;
}
