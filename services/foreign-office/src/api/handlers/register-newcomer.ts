import { foreignOffice } from '@lotse/contracts';
import { actorOfCall, appendAudit } from '@lotse/audit';
import { v7 as uuidv7 } from 'uuid';
import { REGISTER_CATEGORIES } from '../../data-protection/holdings.js';
import { REGISTER_BASIS } from '../../data-protection/legal-bases.js';
import { newCaseRef, unary } from '../case-records.js';
import { toNewcomer } from '../mappers.js';
import { validateRegisterNewcomer } from '../validate.js';

/** A caseworker registers a newcomer: the register entry and its audit entry commit together. */
export const registerNewcomer = unary(foreignOffice.ForeignOfficeServiceService.registerNewcomer, {
  access: 'self',
  validate: (req, rt) => validateRegisterNewcomer(req, rt.now()),
  idempotent: true,
  async handle(input, { rt, ctx, trx }) {
    const row = await trx
      .insertInto('newcomer')
      .values({
        newcomer_id: uuidv7(),
        case_ref: newCaseRef(),
        given_names: input.givenNames,
        family_name: input.familyName,
        birth_date: input.birthDate,
        nationality: input.nationality,
        languages: input.languages,
        municipality: input.municipality,
        residence_status: input.residenceStatus,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    rt.logger.info({ newcomer_id: row.newcomer_id, case_ref: row.case_ref }, 'newcomer registered');
    await appendAudit(trx, { ...actorOfCall(ctx), action: 'write', subjectRef: row.case_ref, categories: REGISTER_CATEGORIES, purpose: 0, legalBasis: REGISTER_BASIS, details: { newcomer_id: row.newcomer_id }, at: rt.now() });
    return { newcomer: toNewcomer(row) };
  },
});
