import { foreignOffice } from '@lotse/contracts';
import { declaredService } from '@lotse/runtime';
import type { ForeignOffice } from './case-records.js';
import { discloseNewcomerData } from './handlers/disclose-newcomer-data.js';
import { getConsentText } from './handlers/get-consent-text.js';
import { getNewcomer } from './handlers/get-newcomer.js';
import { listReferrals } from './handlers/list-referrals.js';
import { recordConsent } from './handlers/record-consent.js';
import { registerNewcomer } from './handlers/register-newcomer.js';
import { requestReferral } from './handlers/request-referral.js';
import { withdrawConsent } from './handlers/withdraw-consent.js';

/** The foreign office's API: one declared handler per RPC (api/handlers/), checked against the matrix at start. */
export function foreignOfficeApi(rt: ForeignOffice) {
  return declaredService(rt, foreignOffice.ForeignOfficeServiceService, {
    registerNewcomer,
    recordConsent,
    requestReferral,
    getNewcomer,
    listReferrals,
    discloseNewcomerData,
    getConsentText,
    withdrawConsent,
  });
}
