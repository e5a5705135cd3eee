import { migrationServices as ms } from '@lotse/contracts';
import { ownerClients, type AgreementSource } from '@lotse/referrals';
import { declaredService, type AgencyContext } from '@lotse/runtime';
import type { MigrationServicesDb } from '../db/schema.js';
import { providerInbox } from '../events/referral-inbox.js';
import type { MigrationServices } from './case-records.js';
import { fetchNewcomerData } from './handlers/fetch-newcomer-data.js';
import { getReferral } from './handlers/get-referral.js';
import { listReferrals } from './handlers/list-referrals.js';
import { recordFirstContact } from './handlers/record-first-contact.js';
import { referralWorkflow } from './handlers/referral-workflow.js';
import { withdrawConsent } from './handlers/withdraw-consent.js';

export interface MigrationServicesDeps {
  /** Addresses of the agencies that own newcomers' data (the foreign offices), by agency id. */
  peers: ReadonlyMap<string, string>;
  /** The cooperation agreements (from the hub): a referral no agreement allows is refused here. */
  agreements: AgreementSource;
}

/** The migration service's API: one declared handler per RPC (api/handlers/), checked against the matrix at start. */
export function migrationServicesApi(ctx: AgencyContext<MigrationServicesDb>, deps: MigrationServicesDeps) {
  const rt: MigrationServices = { ...ctx, agreements: deps.agreements, inbox: providerInbox(ctx), owners: ownerClients(ctx, deps.peers) };
  return declaredService(rt, ms.MigrationServicesServiceService, {
    // AcceptReferral, DeclineReferral, CompleteReferral, RequestReferral, WithdrawReferral, SetCapacity.
    ...referralWorkflow,
    listReferrals,
    getReferral,
    fetchNewcomerData,
    withdrawConsent,
    recordFirstContact,
  });
}
