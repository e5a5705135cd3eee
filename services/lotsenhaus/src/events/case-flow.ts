// The hub's reactions to case events: route requested referrals, follow providers' decisions,
// keep the case index and timeline, and tell the referring agency where its referral stands.
// The rules are the deciders' (domain/); the handlers, one file per group, carry them out.
import type { AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import { agencyNames, agencyTypes, type Directory } from '../domain/directory.js';
import type { HubRules } from '../domain/referral-decider.js';
import { addWorkingDays } from '../domain/working-days.js';
import { consentHandlers } from './consent-erasure.js';
import { jobCentreStepHandlers } from './job-centre-steps.js';
import { lifecycleHandlers } from './lifecycle.js';

export interface CaseFlowOptions {
  /** When a pending referral escalates, counted from its routing. */
  expiresAt?: (routedAt: Date) => Date;
}

/** The decider's view of the network: this hub and the directory. */
export function hubRules(rt: Pick<AgencyContext<HubDb>, 'agencyId' | 'agencyType'>, directory: Directory, options: CaseFlowOptions = {}): HubRules {
  return {
    agencyId: rt.agencyId,
    agencyType: rt.agencyType,
    providers: directory.providers,
    agreements: directory.agreements,
    agencyTypeOf: agencyTypes(directory),
    nameOf: agencyNames(directory),
    expiresAt: options.expiresAt ?? ((at: Date) => addWorkingDays(at, 5)),
  };
}

export function caseFlow(rt: AgencyContext<HubDb>, directory: Directory, options: CaseFlowOptions = {}) {
  return {
    ...lifecycleHandlers(rt, hubRules(rt, directory, options)),
    ...consentHandlers(rt),
    ...jobCentreStepHandlers(rt),
  };
}
