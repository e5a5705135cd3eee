import { common } from '@lotse/contracts';

export interface ConsentTerms {
  consentId: string;
  recipients: string[];
  purposes: number[];
  dataCategories: number[];
  expiresAt: Date | null;
  withdrawnAt: Date | null;
  grantedAt: Date;
}

export interface Recipient {
  agencyId: string;
  agencyType: string;
}

/** A consent names recipients either as one deployment ("caritas-koblenz") or a whole agency type. */
export function namesRecipient(consent: ConsentTerms, recipient: Recipient): boolean {
  return consent.recipients.includes(recipient.agencyId) || consent.recipients.includes(recipient.agencyType);
}

export function isInForce(consent: ConsentTerms, now: Date): boolean {
  return consent.withdrawnAt === null && (consent.expiresAt === null || consent.expiresAt > now);
}

/** Whether this consent is a legal basis for giving `recipient` data for `purpose` now. */
export function covers(consent: ConsentTerms, recipient: Recipient, purpose: common.Purpose, now: Date): boolean {
  return isInForce(consent, now) && consent.purposes.includes(purpose) && namesRecipient(consent, recipient);
}

/** The newest consent in force for a purpose (any recipient); referrals are made under it. */
export function newestCovering(consents: ConsentTerms[], purpose: common.Purpose, now: Date): ConsentTerms | undefined {
  return consents
    .filter((c) => isInForce(c, now) && c.purposes.includes(purpose))
    .sort((a, b) => b.grantedAt.getTime() - a.grantedAt.getTime())[0];
}

/** The categories a disclosure may return: what was asked (all, if nothing) within what was granted. */
export function grantedCategories(consent: ConsentTerms, requested: number[]): number[] {
  const wanted = requested.length ? requested : consent.dataCategories;
  return [...new Set(wanted)].filter((c) => consent.dataCategories.includes(c)).sort((a, b) => a - b);
}
