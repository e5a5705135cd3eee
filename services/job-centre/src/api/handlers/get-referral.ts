import { jobCentre as jc } from '@lotse/contracts';
import { intakeReferral, shared } from '../case-records.js';
import { toNewcomerData } from '../mappers.js';

/** A referral with the copy of the newcomer's data received for it, if any (reading the copy is on record). */
export const getReferral = shared.receivedReferralReader(jc.JobCentreServiceService.getReferral, async (trx, row, record) => ({
  referral: await intakeReferral(trx, row),
  newcomer: record ? toNewcomerData(record) : undefined,
}));
