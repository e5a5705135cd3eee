import { foreignOffice } from '@lotse/contracts';
import { actorOfCall, appendAudit, lockAuditChain } from '@lotse/audit';
import { v7 as uuidv7 } from 'uuid';
import { CONSENT_RECORD_BASIS } from '../../data-protection/legal-bases.js';
import { newcomerOrThrow, unary } from '../case-records.js';
import { toConsent } from '../mappers.js';
import { validateRecordConsent } from '../validate.js';

/** A caseworker records the newcomer's consent, as given on the signed form. */
export const recordConsent = unary(foreignOffice.ForeignOfficeServiceService.recordConsent, {
  access: 'self',
  validate: (req, rt) => validateRecordConsent(req, rt.now()),
  idempotent: true,
  async handle(input, { rt, ctx, trx }) {
    // The audit chain's lock before any row lock, as every transaction here that audits and locks shared rows.
    await lockAuditChain(trx);
    const newcomer = await newcomerOrThrow(trx, input.newcomerId);
    const row = await trx
      .insertInto('consent')
      .values({
        consent_id: uuidv7(),
        newcomer_id: input.newcomerId,
        recipients: input.recipients,
        purposes: input.purposes,
        data_categories: input.dataCategories,
        expires_at: input.expiresAt,
        text_version: input.textVersion,
        language: input.language,
        interpreter_used: input.interpreterUsed,
        withdrawn_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    rt.logger.info({ consent_id: row.consent_id, newcomer_id: row.newcomer_id }, 'consent recorded');
    await appendAudit(trx, {
      ...actorOfCall(ctx),
      action: 'write',
      subjectRef: newcomer.case_ref,
      categories: row.data_categories,
      purpose: 0,
      legalBasis: CONSENT_RECORD_BASIS,
      details: { consent_id: row.consent_id, recipients: row.recipients, purposes: row.purposes },
      at: rt.now(),
    });
    return { consent: toConsent(row) };
  },
});
