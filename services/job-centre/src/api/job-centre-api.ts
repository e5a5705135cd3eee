import { jobCentre as jc } from '@lotse/contracts';
import { ownerClients, type AgreementSource } from '@lotse/referrals';
import { declaredService, type AgencyContext } from '@lotse/runtime';
import type { JobCentreDb } from '../db/schema.js';
import { referralIntake } from '../events/referral-intake.js';
import type { JobCentre } from './case-records.js';
import { agreeCooperationPlan } from './handlers/agree-cooperation-plan.js';
import { closeCase } from './handlers/close-case.js';
import { decideLanguageCourseFunding } from './handlers/decide-language-course-funding.js';
import { fetchNewcomerData } from './handlers/fetch-newcomer-data.js';
import { getCustomer } from './handlers/get-customer.js';
import { getReferral } from './handlers/get-referral.js';
import { listCustomers } from './handlers/list-customers.js';
import { listReferrals } from './handlers/list-referrals.js';
import { recordPlacement } from './handlers/record-placement.js';
import { referralWorkflow } from './handlers/referral-workflow.js';
import { registerCustomer } from './handlers/register-customer.js';

export interface JobCentreDeps {
  /** Addresses of the agencies that own newcomers' data (the foreign offices), by agency id. */
  peers: ReadonlyMap<string, string>;
  /** The owner to ask when the referring agency is not a data owner (see config). */
  dataOwnerId: string | undefined;
  /** The cooperation agreements (from the hub): a referral no agreement allows is refused here. */
  agreements: AgreementSource;
}

/** The job centre's API: one declared handler per RPC (api/handlers/), checked against the matrix at start. */
export function jobCentreApi(ctx: AgencyContext<JobCentreDb>, deps: JobCentreDeps) {
  const rt: JobCentre = { ...ctx, ...deps, inbox: referralIntake(ctx), owners: ownerClients(ctx, deps.peers) };
  return declaredService(rt, jc.JobCentreServiceService, {
    // Referral intake: AcceptReferral, DeclineReferral, CompleteReferral, RequestReferral, WithdrawReferral, SetCapacity.
    ...referralWorkflow,
    listReferrals,
    getReferral,
    fetchNewcomerData,
    // The customer's case.
    registerCustomer,
    getCustomer,
    listCustomers,
    decideLanguageCourseFunding,
    agreeCooperationPlan,
    recordPlacement,
    closeCase,
  });
}
