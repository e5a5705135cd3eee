import { migrationServices as ms } from '@lotse/contracts';
import { refuseWithdrawn, shared, toNewcomerData } from '../case-records.js';

/**
 * The consented fetch from the owner the hub named (also when another agency referred), else
 * the referrer; never after the consent was withdrawn here.
 */
export const fetchNewcomerData = shared.consentedFetch(ms.MigrationServicesServiceService.fetchNewcomerData, {
  accepted: ms.InboxStatus.INBOX_STATUS_ACCEPTED,
  statusName: ms.inboxStatusToJSON,
  ownerOf: (referral) => referral.owner_agency_id || referral.referrer_agency_id,
  refuse: refuseWithdrawn,
  codecs: [ms.FetchNewcomerDataRequest, ms.FetchNewcomerDataResponse],
  response: (record) => ({ newcomer: toNewcomerData(record) }),
});
