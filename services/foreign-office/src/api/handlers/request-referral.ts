import { common, events, foreignOffice } from '@lotse/contracts';
import { actorOfCall, appendAudit, lockAuditChain } from '@lotse/audit';
import { channel, requireFlow } from '@lotse/flows';
import { berlinDate, NotFoundError, PermissionDeniedError } from '@lotse/grpc';
import { v7 as uuidv7 } from 'uuid';
import { ageGroupOn } from '../../domain/age-group.js';
import { namesRecipient, newestCovering } from '../../domain/consent.js';
import { lockedConsents, newcomerOrThrow, unary } from '../case-records.js';
import { toConsentTerms, toReferral } from '../mappers.js';
import { validateRequestReferral } from '../validate.js';

const { ReferralStatus, DataCategory } = common;

/**
 * A caseworker asks the hub to refer the newcomer, under a consent in force for the purpose.
 * The referral, its thin event and the audit of the routing facts leaving commit together.
 */
export const requestReferral = unary(foreignOffice.ForeignOfficeServiceService.requestReferral, {
  access: 'self',
  validate: (req) => validateRequestReferral(req),
  idempotent: true,
  async handle(input, { rt, ctx, trx }) {
    await lockAuditChain(trx);
    const newcomer = await newcomerOrThrow(trx, input.newcomerId);
    // FOR SHARE: a withdrawal (FOR UPDATE) and this referral serialise on the consent rows.
    const consents = (await lockedConsents(trx, newcomer.newcomer_id, 'share')).map(toConsentTerms);
    const now = rt.now();
    const consent = input.consentId ? consents.find((c) => c.consentId === input.consentId) : newestCovering(consents, input.purpose, now);
    if (input.consentId && !consent) throw new NotFoundError('consent_id', input.consentId);
    if (!consent || !newestCovering([consent], input.purpose, now)) {
      throw new PermissionDeniedError(`no consent in force of newcomer ${newcomer.newcomer_id} covers purpose ${common.purposeToJSON(input.purpose)}; nothing was sent`);
    }
    if (input.preferredProviderId && !namesRecipient(consent, { agencyId: input.preferredProviderId, agencyType: 'migration-services' })) {
      throw new PermissionDeniedError(`consent ${consent.consentId} does not name ${input.preferredProviderId} as a recipient; nothing was sent`);
    }
    // The languages the newcomer speaks let the hub route to staff who speak one of them —
    // only where the consent grants the category; without it the hub routes without them.
    const languages = consent.dataCategories.includes(DataCategory.DATA_CATEGORY_LANGUAGES) ? newcomer.languages : [];
    const routingFacts = [...(languages.length ? [DataCategory.DATA_CATEGORY_LANGUAGES] : []), DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP];
    // Only a row on the newcomer's consent lets the routing facts go (checked above, held FOR SHARE).
    requireFlow({ sender: rt.agencyType, recipient: 'lotsenhaus', channel: channel.event('ReferralRequested'), purpose: input.purpose, categories: routingFacts, basis: 'consent' });
    const referralId = uuidv7();
    const row = await trx
      .insertInto('referral')
      .values({
        referral_id: referralId,
        newcomer_id: newcomer.newcomer_id,
        case_ref: newcomer.case_ref,
        consent_id: consent.consentId,
        purpose: input.purpose,
        status: ReferralStatus.REFERRAL_STATUS_REQUESTED,
        provider_id: null,
        decline_reason: 0,
        preferred_provider_id: input.preferredProviderId ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    // Thin event: the hub needs the case reference, the consent's recipients and the routing facts.
    const requestEventId = await rt.publish(trx, events.ReferralRequested, {
      referralId,
      caseRef: newcomer.case_ref,
      referrerAgencyId: rt.agencyId,
      purpose: input.purpose,
      consentId: consent.consentId,
      consentedRecipients: consent.recipients,
      municipality: newcomer.municipality,
      // Ages count in German calendar days, not UTC ones.
      ageGroup: ageGroupOn(newcomer.birth_date, berlinDate(now)),
      preferredProviderId: input.preferredProviderId ?? '',
      requestedAt: row.requested_at,
      type: common.ReferralType.REFERRAL_TYPE_REFERRAL,
      recipientType: 'migration-services',
      ownerAgencyId: rt.agencyId,
      sourceReferralId: '',
      languages,
    }, newcomer.case_ref);
    // Kept until the hub answers: the follow-up sends this event again if the broker lost it.
    await trx.updateTable('referral').set({ request_event_id: requestEventId }).where('referral_id', '=', referralId).execute();
    rt.logger.info({ referral_id: referralId, case_ref: newcomer.case_ref }, 'referral requested');
    // The routing facts leave with the event: an export to the hub.
    await appendAudit(trx, {
      ...actorOfCall(ctx),
      action: 'export',
      subjectRef: newcomer.case_ref,
      categories: routingFacts,
      purpose: input.purpose,
      legalBasis: `consent:${consent.consentId}`,
      details: { referral_id: referralId, recipient_agency_type: 'lotsenhaus', event: 'ReferralRequested' },
      at: now,
    });
    return { referral: toReferral(row) };
  },
});
