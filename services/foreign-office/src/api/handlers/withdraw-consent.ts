import { foreignOffice } from '@lotse/contracts';
import { actorOfCall, appendAudit, lockAuditChain } from '@lotse/audit';
import { NotFoundError, PermissionDeniedError } from '@lotse/grpc';
import { WITHDRAWAL_BASIS } from '../../data-protection/legal-bases.js';
import { withdrawConsents } from '../../domain/withdrawal.js';
import { isPartyToConsent, lockedConsents, newcomerOrThrow, unary } from '../case-records.js';
import { validateWithdrawConsent } from '../validate.js';

/**
 * A consent is withdrawn: by the office's caseworkers (by consent or newcomer), or passed on by a
 * party to it (by consent id only). Nothing leaves under it once this commits.
 */
export const withdrawConsent = unary(foreignOffice.ForeignOfficeServiceService.withdrawConsent, {
  access: { relation: 'party-to-consent' },
  validate: (req) => validateWithdrawConsent(req),
  idempotent: true,
  async handle(input, { rt, ctx, trx }) {
    const own = ctx.caller.agencyId === rt.agencyId;
    if (input.newcomerId && !own) throw new PermissionDeniedError(`only ${rt.agencyId}'s own caseworkers may withdraw by newcomer_id; pass consent_id`);
    // FOR UPDATE: waits for every disclosure and referral holding the consent (FOR SHARE) to
    // commit; those that come after see it withdrawn. Nothing leaves after this commits.
    await lockAuditChain(trx);
    let rows;
    if (input.consentId) {
      rows = await trx.selectFrom('consent').selectAll().where('consent_id', '=', input.consentId).forUpdate().execute();
      if (rows.length === 0) throw new NotFoundError('consent_id', input.consentId);
    } else {
      await newcomerOrThrow(trx, input.newcomerId!);
      rows = await lockedConsents(trx, input.newcomerId!, 'update');
    }
    for (const row of rows) {
      if (!own && !(await isPartyToConsent(trx, row, ctx.caller))) {
        throw new PermissionDeniedError(
          `${ctx.caller.agencyId} is no party to consent ${row.consent_id}: only this office, a recipient holding data under it, or the agency a referral under it is with may pass its withdrawal on`,
        );
      }
    }
    const newlyWithdrawn = rows.filter((r) => !r.withdrawn_at);
    const withdrawn = await withdrawConsents(rt, trx, rows, { receivedBy: ctx.caller.agencyId, reason: input.reason });
    // Recording the withdrawal changes the consent record: on record with who passed it on.
    for (const row of newlyWithdrawn) {
      const { case_ref } = await newcomerOrThrow(trx, row.newcomer_id);
      await appendAudit(trx, {
        ...actorOfCall(ctx),
        action: 'write',
        subjectRef: case_ref,
        categories: row.data_categories,
        purpose: 0,
        legalBasis: WITHDRAWAL_BASIS,
        details: { consent_id: row.consent_id, withdrawal: true },
        at: rt.now(),
      });
    }
    return { consents: withdrawn };
  },
});
