import { foreignOffice } from '@lotse/contracts';
import { actorOfCall, appendAudit } from '@lotse/audit';
import { REGISTER_CATEGORIES } from '../../data-protection/holdings.js';
import { REGISTER_BASIS } from '../../data-protection/legal-bases.js';
import { newcomerOrThrow, unary } from '../case-records.js';
import { toConsent, toNewcomer } from '../mappers.js';

/** A caseworker reads a newcomer's register entry and consents; the read and its audit entry commit together. */
export const getNewcomer = unary(foreignOffice.ForeignOfficeServiceService.getNewcomer, {
  access: 'self',
  transaction: true,
  async handle(req, { rt, ctx, trx }) {
    const newcomer = await newcomerOrThrow(trx, req.newcomerId);
    const consents = await trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomer.newcomer_id).orderBy('granted_at').execute();
    await appendAudit(trx, { ...actorOfCall(ctx), action: 'read', subjectRef: newcomer.case_ref, categories: REGISTER_CATEGORIES, purpose: 0, legalBasis: REGISTER_BASIS, details: { newcomer_id: newcomer.newcomer_id }, at: rt.now() });
    return { newcomer: toNewcomer(newcomer), consents: consents.map(toConsent) };
  },
});
