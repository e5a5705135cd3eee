import { common, foreignOffice } from '@lotse/contracts';
import { actorOfCall, appendAudit, lockAuditChain } from '@lotse/audit';
import { categoryKey, FlowNotAllowedError, requireFlow, type Flow } from '@lotse/flows';
import { NotFoundError, PermissionDeniedError, UnavailableError } from '@lotse/grpc';
import { covers, grantedCategories } from '../../domain/consent.js';
import type { Standing } from '../../domain/disclosure.js';
import { hubWordOnItsWay, lockedConsents, standingWith, unary, type ForeignOffice } from '../case-records.js';
import { toConsentTerms } from '../mappers.js';
import { discloseChannel, validateDisclose } from '../validate.js';

const { DataCategory } = common;

/**
 * A provider or job centre asks for a newcomer's data. Answered only where a row of the flow
 * table, a consent in force for the caller and purpose, and a referral with the caller (the
 * office's own record) all hold; only the granted categories go, and every answer is logged.
 * Not in one declared transaction: it may wait for the hub's word first, outside any.
 */
export const discloseNewcomerData = unary(foreignOffice.ForeignOfficeServiceService.discloseNewcomerData, {
  access: { relation: 'referral-with-caller' },
  validate: (req) => validateDisclose(req),
  async handle(input, { rt, ctx }) {
    const caller = ctx.caller;
    // No row of the flow table for this recipient, purpose and these categories: refused (and logged).
    let flow: Flow | undefined;
    let noFlow: FlowNotAllowedError | undefined;
    try {
      flow = requireFlow({ sender: rt.agencyType, recipient: caller.agencyType, channel: discloseChannel, purpose: input.purpose, categories: input.categories });
    } catch (error) {
      if (!(error instanceof FlowNotAllowedError)) throw error;
      noFlow = error;
    }
    const asked = { caseRef: input.caseRef, callerId: caller.agencyId, purpose: input.purpose, referralId: input.referralId };
    await hubWordOnItsWay(rt.db, asked);
    // The answer and its audit row commit together: no disclosure without a record of it.
    const outcome = await rt.transact(async (trx) => {
      await lockAuditChain(trx);
      const newcomer = await trx.selectFrom('newcomer').selectAll().where('case_ref', '=', input.caseRef).executeTakeFirst();
      if (!newcomer) throw new NotFoundError('case_ref', input.caseRef, 'case');
      // FOR SHARE: a withdrawal (FOR UPDATE) waits for this disclosure to commit, or this one sees it withdrawn.
      const consents = (await lockedConsents(trx, newcomer.newcomer_id, 'share')).map(toConsentTerms);
      const now = rt.now();
      const consent = flow ? consents.filter((c) => covers(c, caller, input.purpose, now)).sort((a, b) => b.grantedAt.getTime() - a.grantedAt.getTime())[0] : undefined;
      // The office's own record of where the case's referrals are, never the caller's word.
      const standing = await standingWith(trx, asked);
      const inTable = new Set(flow?.categories ?? []);
      const categories = consent ? grantedCategories(consent, input.categories).filter((c) => inTable.has(categoryKey(c))) : [];
      const granted = standing.kind === 'entitled' && consent !== undefined && categories.length > 0;
      const referralId = standing.kind === 'none' ? undefined : standing.referralId;
      await trx
        .insertInto('data_access_log')
        .values({
          caller_agency_id: caller.agencyId,
          case_ref: input.caseRef,
          purpose: input.purpose,
          categories: granted ? categories : input.categories,
          legal_basis: granted ? `consent:${consent.consentId}` : null,
          outcome: granted ? 'granted' : 'denied',
          flow_id: flow?.id ?? null,
        })
        .execute();
      // The disclosure register above stays; the hash-chained audit log gets the same access.
      await appendAudit(trx, {
        ...actorOfCall(ctx),
        action: granted ? 'export' : 'refuse',
        subjectRef: input.caseRef,
        categories: granted ? categories : input.categories,
        purpose: input.purpose,
        legalBasis: granted ? `consent:${consent.consentId}` : '',
        details: { recipient_agency_id: caller.agencyId, ...(flow && { flow_id: flow.id }), ...(referralId && { referral_id: referralId }), ...(!granted && { standing: standing.kind }) },
        at: now,
      });
      return granted ? { granted: true as const, newcomer, consent, categories } : { granted: false as const, standing };
    });
    if (!outcome.granted) throw refusal(rt, ctx.caller.agencyId, input, outcome.standing, noFlow);
    const { newcomer, consent, categories } = outcome;
    const has = (c: common.DataCategory) => categories.includes(c);
    return foreignOffice.DiscloseNewcomerDataResponse.fromPartial({
      caseRef: newcomer.case_ref,
      consentId: consent.consentId,
      legalBasis: `consent:${consent.consentId}`,
      grantedCategories: categories,
      ...(has(DataCategory.DATA_CATEGORY_IDENTITY) && { givenNames: newcomer.given_names, familyName: newcomer.family_name, birthDate: newcomer.birth_date }),
      ...(has(DataCategory.DATA_CATEGORY_NATIONALITY) && { nationality: newcomer.nationality }),
      ...(has(DataCategory.DATA_CATEGORY_LANGUAGES) && { languages: newcomer.languages }),
      ...(has(DataCategory.DATA_CATEGORY_RESIDENCE_STATUS) && { residenceStatus: newcomer.residence_status }),
      ...(has(DataCategory.DATA_CATEGORY_MUNICIPALITY) && { municipality: newcomer.municipality }),
    });
  },
});

/** Why a disclosure was refused (already logged and audited), as the error the caller gets. */
function refusal(rt: ForeignOffice, callerId: string, input: { caseRef: string; purpose: number }, standing: Standing, noFlow: FlowNotAllowedError | undefined): Error {
  const agencyId = rt.agencyId;
  const log = { caller: callerId, case_ref: input.caseRef };
  if (noFlow) {
    rt.logger.warn({ ...log, missing: noFlow.missing }, 'disclosure refused: no flow in the flow table');
    return new PermissionDeniedError(`${noFlow.message}; the refusal was logged`);
  }
  switch (standing.kind) {
    case 'unknown':
      rt.logger.info({ ...log, referral_id: standing.referralId }, 'disclosure refused for now: the referral is not known here yet');
      return new UnavailableError(`referral_id: the hub's word of referral ${standing.referralId} has not reached ${agencyId} yet; try again shortly (the refusal was logged)`);
    case 'awaiting':
      rt.logger.info({ ...log, referral_id: standing.referralId }, 'disclosure refused for now: the acceptance has not arrived');
      return new UnavailableError(`referral ${standing.referralId} is routed to ${callerId}, but its acceptance has not reached ${agencyId} yet; try again shortly (the refusal was logged)`);
    case 'rerouting':
      // Not PERMISSION_DENIED: a provider the hub re-routed the referral to after a decline
      // fetches as soon as it accepted, and this office may not have the re-route yet. The other
      // deployment is not named. Once it accepts (or the referral closes) the answer is `none`.
      rt.logger.info({ ...log, referral_id: standing.referralId }, 'disclosure refused for now: the referral is pending elsewhere; a re-route may be on its way');
      return new UnavailableError(
        `referral ${standing.referralId} is not with ${callerId} as far as ${agencyId} knows; if the hub re-routed it there, its word has not arrived yet; try again shortly (the refusal was logged)`,
      );
    case 'none':
      rt.logger.warn(log, 'disclosure refused: no referral of the case is with the caller');
      return new PermissionDeniedError(`no referral of case ${input.caseRef} for ${common.purposeToJSON(input.purpose)} is with ${callerId} (accepted or in progress); the refusal was logged`);
    default:
      rt.logger.warn(log, 'disclosure refused: no consent covers caller and purpose');
      return new PermissionDeniedError(`no consent in force covers ${callerId} for ${common.purposeToJSON(input.purpose)} and the requested categories; the refusal was logged`);
  }
}
