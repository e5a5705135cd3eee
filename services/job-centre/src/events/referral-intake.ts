import { common, jobCentre } from '@lotse/contracts';
import { referralInbox } from '@lotse/referrals';
import type { AgencyContext } from '@lotse/runtime';
import type { Selectable } from 'kysely';
import type { IntakeReferralTable, JobCentreDb } from '../db/schema.js';

const { Purpose } = common;
const { IntakeStatus: S } = jobCentre;

/** What a job centre takes referrals for; anything else the hub routed here is declined at once. */
export const servedPurposes: readonly common.Purpose[] = [
  Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
  Purpose.PURPOSE_LANGUAGE_COURSE,
  // From the Lotsenhaus (agreement job centre ↔ Lotsenhaus): assessment results, placement.
  Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
  Purpose.PURPOSE_JOB_PLACEMENT,
];

/**
 * The job centre's referral intake: the shared workflow on its table received_referral. A withdrawn
 * referral is closed here whether the referrer or the newcomer withdrew.
 */
export function referralIntake(rt: AgencyContext<JobCentreDb>) {
  return referralInbox<JobCentreDb, Selectable<IntakeReferralTable>>(rt, {
    table: 'received_referral',
    statuses: { pending: S.INTAKE_STATUS_PENDING, accepted: S.INTAKE_STATUS_ACCEPTED, declined: S.INTAKE_STATUS_DECLINED, withdrawn: S.INTAKE_STATUS_WITHDRAWN, completed: S.INTAKE_STATUS_COMPLETED, name: jobCentre.intakeStatusToJSON },
    servedPurposes,
  });
}
