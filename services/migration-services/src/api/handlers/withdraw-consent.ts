import { foreignOffice, migrationServices as ms } from '@lotse/contracts';
import { forwardCaseworker } from '@lotse/audit';
import { once, previousResponse, throwDownstream } from '@lotse/grpc';
import { validateReferralCall } from '@lotse/referrals';
import { createHash } from 'node:crypto';
import { eraseUnderConsent } from '../../domain/erasure.js';
import { hasData, toInboxReferral, unary } from '../case-records.js';

/**
 * A caseworker withdraws the newcomer's consent here: passed on to the owner, then processing
 * stops and what came under it is erased. Not in one declared transaction: the owner is asked
 * first, outside any.
 */
export const withdrawConsent = unary(ms.MigrationServicesServiceService.withdrawConsent, {
  access: 'self',
  validate: (req) => {
    const { v, requestId, referralId } = validateReferralCall(req);
    const reason = v.text('reason', req.reason, { max: 500, required: false });
    v.throwIfAny();
    return { requestId, referralId, reason };
  },
  async handle({ requestId, referralId, reason }, { rt, ctx, request }) {
    const key = { method: 'WithdrawConsent', requestId, request, requestCodec: ms.WithdrawConsentRequest };
    const previous = await previousResponse(rt.db, key, ms.WithdrawConsentResponse);
    if (previous) return previous;
    const referral = await rt.inbox.get(rt.db, referralId);
    // Passed on to the owner first, synchronously: the withdrawal counts once the owner has it.
    // The forwarded request id is derived from ours, so a retry here is a retry there.
    const ours = `${rt.agencyId}:${requestId}`;
    const forwardedId = ours.length <= 128 ? ours : `${rt.agencyId}:${createHash('sha256').update(requestId).digest('hex').slice(0, 40)}`;
    let consent: foreignOffice.Consent | undefined;
    try {
      ({ consents: [consent] } = await rt.owners.of(referral.referrer_agency_id).withdrawConsent({ requestId: forwardedId, consentId: referral.consent_id, newcomerId: '', reason }, { metadata: forwardCaseworker(ctx) }));
    } catch (error) {
      throwDownstream(error, referral.referrer_agency_id);
    }
    return rt.transact((trx) =>
      once(trx, key, ms.WithdrawConsentResponse, async () => {
        // Stop processing and erase here at once; the hub's erasure request then only confirms.
        await eraseUnderConsent(rt, trx, { consentId: referral.consent_id, caseRef: referral.case_ref, ownerAgencyId: referral.referrer_agency_id, takenHere: true });
        const row = await rt.inbox.get(trx, referralId);
        rt.logger.info({ referral_id: referralId, consent_id: referral.consent_id }, 'consent withdrawn here and passed on to the owner');
        return {
          consentId: referral.consent_id,
          ownerAgencyId: referral.referrer_agency_id,
          withdrawnAt: consent?.withdrawnAt,
          referral: toInboxReferral(row, await hasData(trx, referralId)),
        };
      }),
    );
  },
});
