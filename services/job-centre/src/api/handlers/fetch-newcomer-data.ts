import { jobCentre as jc } from '@lotse/contracts';
import { ownerOf, shared } from '../case-records.js';
import { toNewcomerData } from '../mappers.js';

/** The consented fetch from the owner the hub named, else the referrer or the configured owner. */
export const fetchNewcomerData = shared.consentedFetch(jc.JobCentreServiceService.fetchNewcomerData, {
  accepted: jc.IntakeStatus.INTAKE_STATUS_ACCEPTED,
  statusName: jc.intakeStatusToJSON,
  ownerOf: (referral, rt) => ownerOf(rt, referral.referrer_agency_id, referral.owner_agency_id),
  codecs: [jc.FetchNewcomerDataRequest, jc.FetchNewcomerDataResponse],
  response: (record) => ({ newcomer: toNewcomerData(record) }),
});
