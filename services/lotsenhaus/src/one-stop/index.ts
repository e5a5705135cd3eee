import { oneStop } from '@lotse/contracts';
import type { AgencyContext, GrpcService } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import { oneStopApi } from './one-stop-api.js';
import { loadPartners, type Partners } from './partners.js';

export { oneStopHandlers, oneStopSubscription, oneStopReferralInbox } from './referral-inbox.js';
export { defaultPartnersFile, loadPartners, type OneStopPartner, type Partners } from './partners.js';
export type { OneStopDb, OneStopTables } from './schema.js';
export { eraseSubject } from './erasure.js';

/** The Lotsenhaus's own agency API (lotse.lotsenhaus.v1.OneStopService), beside the hub's. */
export function oneStopService(ctx: AgencyContext<HubDb>, partners: Partners = loadPartners()): GrpcService<HubDb> {
  return { definition: oneStop.OneStopServiceService, protoFile: 'lotse/lotsenhaus/v1/one_stop.proto', handlers: oneStopApi(ctx, partners) };
}
