import { migrationServices as ms } from '@lotse/contracts';
import { shared, toInboxReferral, toNewcomerData } from '../case-records.js';

/** A referral with the copy of the newcomer's data received for it, if any (reading the copy is on record). */
export const getReferral = shared.receivedReferralReader(ms.MigrationServicesServiceService.getReferral, (_trx, row, record) => ({
  referral: toInboxReferral(row, record !== undefined),
  newcomer: record ? toNewcomerData(record) : undefined,
}));
