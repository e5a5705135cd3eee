import { common, foreignOffice } from '@lotse/contracts';
import { allowedCategories, categoryKey, channel, flowTable, purposeKey } from '@lotse/flows';
import { Violations } from '@lotse/grpc';
import { consentText, currentTextVersion, languagesOf, supportedLanguage, supportedLanguages } from '../consent-texts/index.js';

// Field rules of the foreign office's requests. Everything is checked before anything is written.

const agencyRef = /^[a-z][a-z0-9-]{1,62}$/;
const languageCode = /^[a-z]{2,3}$/;

export function validateRegisterNewcomer(req: foreignOffice.RegisterNewcomerRequest, today: Date) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const givenNames = v.text('given_names', req.givenNames, { max: 200 });
  const familyName = v.text('family_name', req.familyName, { max: 200 });
  const birthDate = v.isoDate('birth_date', req.birthDate, { notInFuture: true, today });
  const nationality = v.pattern('nationality', req.nationality, /^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as "SY"');
  if (req.languages.length === 0) v.add('languages', 'must name at least one language');
  if (req.languages.length > 10) v.add('languages', 'must name at most 10 languages');
  const languages = req.languages.map((l, i) => v.pattern(`languages[${i}]`, l, languageCode, 'an ISO 639-1 code such as "ar"'));
  const municipality = v.pattern('municipality', req.municipality, agencyRef, 'a municipality code such as "andernach"');
  v.enumValue('residence_status', req.residenceStatus, foreignOffice.ResidenceStatus);
  v.throwIfAny();
  return { requestId, givenNames, familyName, birthDate, nationality, languages: [...new Set(languages)], municipality, residenceStatus: req.residenceStatus };
}

export function validateRecordConsent(req: foreignOffice.RecordConsentRequest, now: Date) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const newcomerId = v.text('newcomer_id', req.newcomerId, { max: 64 });
  if (req.recipients.length === 0) v.add('recipients', 'must name at least one recipient');
  if (req.recipients.length > 20) v.add('recipients', 'must name at most 20 recipients');
  const recipients = req.recipients.map((r, i) =>
    v.pattern(`recipients[${i}]`, r, agencyRef, 'an agency id ("caritas-koblenz") or agency type ("migration-services")'),
  );
  v.enumList('purposes', req.purposes, common.Purpose);
  v.enumList('data_categories', req.dataCategories, common.DataCategory);
  if (req.expiresAt && req.expiresAt <= now) v.add('expires_at', 'must lie in the future');
  const textVersion = v.text('text_version', req.textVersion, { max: 64 });
  const language = consentLanguage(v, req.language);
  if (textVersion && language && !consentText(textVersion, language)) {
    if (languagesOf(textVersion).length === 0) v.add('text_version', `no consent text "${textVersion}" is known (the current one is "${currentTextVersion}")`);
    else v.add('language', `consent text "${textVersion}" has no ${language} version (it has ${languagesOf(textVersion).join(', ')})`);
  }
  if (v.list.length === 0) consentWithinFlowTable(v, recipients, req.purposes, req.dataCategories);
  v.throwIfAny();
  return {
    requestId,
    newcomerId,
    recipients: [...new Set(recipients)],
    purposes: [...new Set(req.purposes)],
    dataCategories: [...new Set(req.dataCategories)],
    expiresAt: req.expiresAt ?? null,
    textVersion,
    language: language!,
    interpreterUsed: req.interpreterUsed,
  };
}

/** One of the supported languages ("fa-AF" stands for Dari, "prs"); adds a violation otherwise. */
function consentLanguage(v: Violations, value: string) {
  const raw = v.text('language', value, { max: 16 });
  if (!raw) return undefined;
  const language = supportedLanguage(raw);
  if (!language) v.add('language', `must be one of ${supportedLanguages.join(', ')} (or fa-AF for Dari)`);
  return language;
}

export const discloseChannel = channel.grpc(foreignOffice.ForeignOfficeServiceService.discloseNewcomerData.path);

/**
 * A consent can only authorise flows the flow table has: for the recipients it names by agency
 * type, every purpose needs a disclosure flow to one of them and every category must be one some
 * such flow allows. (Recipients named by deployment id are checked at disclosure, from the caller's
 * certificate.)
 */
function consentWithinFlowTable(v: Violations, recipients: string[], purposes: number[], categories: number[]) {
  const types = recipients.filter((r) => flowTable().agencyTypes[r]);
  if (types.length === 0) return;
  const allowed = (type: string, purpose: number) => allowedCategories({ sender: 'foreign-office', recipient: type, channel: discloseChannel, purpose });
  purposes.forEach((p, i) => {
    if (!types.some((t) => allowed(t, p).length > 0)) {
      v.add(`purposes[${i}]`, `the flow table has no flow that lets the foreign office disclose data to ${types.join(' or ')} for ${purposeKey(p)}`);
    }
  });
  const union = new Set(types.flatMap((t) => purposes.flatMap((p) => allowed(t, p))));
  categories.forEach((c, i) => {
    if (!union.has(c)) v.add(`data_categories[${i}]`, `the flow table does not let the foreign office disclose ${categoryKey(c)} to ${types.join(' or ')} for these purposes`);
  });
}

export function validateGetConsentText(req: foreignOffice.GetConsentTextRequest) {
  const v = new Violations();
  const language = consentLanguage(v, req.language);
  const textVersion = v.text('text_version', req.textVersion, { max: 64, required: false }) || currentTextVersion;
  v.throwIfAny();
  return { language: language!, textVersion };
}

export function validateWithdrawConsent(req: foreignOffice.WithdrawConsentRequest) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const consentId = v.text('consent_id', req.consentId, { max: 64, required: false });
  const newcomerId = v.text('newcomer_id', req.newcomerId, { max: 64, required: false });
  if (!consentId && !newcomerId) v.add('consent_id', 'name the consent to withdraw (or newcomer_id, to withdraw all of a newcomer\'s consents)');
  if (consentId && newcomerId) v.add('newcomer_id', 'give either consent_id or newcomer_id, not both');
  const reason = v.text('reason', req.reason, { max: 500, required: false });
  v.throwIfAny();
  return { requestId, consentId: consentId || undefined, newcomerId: newcomerId || undefined, reason: reason || null };
}

export function validateRequestReferral(req: foreignOffice.RequestReferralRequest) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const newcomerId = v.text('newcomer_id', req.newcomerId, { max: 64 });
  v.enumValue('purpose', req.purpose, common.Purpose);
  if (req.purpose !== 0 && req.purpose !== common.Purpose.PURPOSE_MIGRATION_COUNSELLING && v.list.length === 0) {
    v.add('purpose', 'the foreign office refers to migration counselling only (PURPOSE_MIGRATION_COUNSELLING)');
  }
  const consentId = v.text('consent_id', req.consentId, { max: 64, required: false });
  const preferredProviderId = v.pattern('preferred_provider_id', req.preferredProviderId, agencyRef, 'an agency id such as "caritas-koblenz"', {
    required: false,
  });
  v.throwIfAny();
  return { requestId, newcomerId, purpose: req.purpose, consentId: consentId || undefined, preferredProviderId: preferredProviderId || undefined };
}

export function validateDisclose(req: foreignOffice.DiscloseNewcomerDataRequest) {
  const v = new Violations();
  const caseRef = v.text('case_ref', req.caseRef, { max: 64 });
  v.enumValue('purpose', req.purpose, common.Purpose);
  v.enumList('categories', req.categories, common.DataCategory, { min: 0 });
  const referralId = v.text('referral_id', req.referralId ?? '', { max: 64, required: false });
  v.throwIfAny();
  return { caseRef, purpose: req.purpose, categories: req.categories, referralId: referralId || undefined };
}
