import type { Selectable } from 'kysely';
import { foreignOffice } from '@lotse/contracts';
import type { ConsentTerms } from '../domain/consent.js';
import type { ConsentTable, ConsentWithdrawalTable, NewcomerTable, ReferralTable } from '../db/schema.js';

export function toNewcomer(row: Selectable<NewcomerTable>): foreignOffice.Newcomer {
  return foreignOffice.Newcomer.fromPartial({
    newcomerId: row.newcomer_id,
    caseRef: row.case_ref,
    givenNames: row.given_names,
    familyName: row.family_name,
    birthDate: row.birth_date,
    nationality: row.nationality,
    languages: row.languages,
    municipality: row.municipality,
    residenceStatus: row.residence_status,
    registeredAt: row.registered_at,
  });
}

export function toConsent(row: Selectable<ConsentTable>): foreignOffice.Consent {
  return foreignOffice.Consent.fromPartial({
    consentId: row.consent_id,
    newcomerId: row.newcomer_id,
    recipients: row.recipients,
    purposes: row.purposes,
    dataCategories: row.data_categories,
    expiresAt: row.expires_at ?? undefined,
    textVersion: row.text_version,
    language: row.language,
    interpreterUsed: row.interpreter_used,
    grantedAt: row.granted_at,
    withdrawnAt: row.withdrawn_at ?? undefined,
  });
}

/** A consent with where its withdrawal was taken. */
export function toWithdrawnConsent(row: Selectable<ConsentTable>, withdrawal: Pick<Selectable<ConsentWithdrawalTable>, 'received_by_agency_id'> | undefined): foreignOffice.Consent {
  return { ...toConsent(row), withdrawalReceivedBy: withdrawal?.received_by_agency_id ?? '' };
}

export function toConsentTerms(row: Selectable<ConsentTable>): ConsentTerms {
  return {
    consentId: row.consent_id,
    recipients: row.recipients,
    purposes: row.purposes,
    dataCategories: row.data_categories,
    expiresAt: row.expires_at,
    withdrawnAt: row.withdrawn_at,
    grantedAt: row.granted_at,
  };
}

export function toReferral(row: Selectable<ReferralTable>): foreignOffice.Referral {
  return foreignOffice.Referral.fromPartial({
    referralId: row.referral_id,
    newcomerId: row.newcomer_id,
    caseRef: row.case_ref,
    consentId: row.consent_id,
    purpose: row.purpose,
    status: row.status,
    providerId: row.provider_id ?? '',
    declineReason: row.decline_reason,
    preferredProviderId: row.preferred_provider_id ?? '',
    requestedAt: row.requested_at,
    updatedAt: row.updated_at,
  });
}
