import { dataProtectionService } from '@lotse/audit';
import { receivedHoldings } from '@lotse/referrals';
import type { AgencyContext, GrpcService } from '@lotse/runtime';
import type { JobCentreDb } from '../db/schema.js';

/**
 * The DataProtectionService every agency serves: what this job centre holds about a case that it
 * received from the data owner (the copy fetched under consent, the referral's age group) and its
 * audit entries. Its own SGB II file (customer, plan, placements) and a retention rule for it in
 * policy/retention.json are still to come.
 */
export function jobCentreDataProtection(ctx: AgencyContext<JobCentreDb>): GrpcService<JobCentreDb>[] {
  return [
    dataProtectionService({
      agencyId: ctx.agencyId,
      agencyType: ctx.agencyType,
      db: ctx.db,
      now: ctx.now,
      ...receivedHoldings('received_referral'),
    }),
  ];
}
