import { common, migrationServices as ms } from '@lotse/contracts';
import { hasData, refuseWithdrawn, shared, toInboxReferral } from '../case-records.js';

/** AcceptReferral, DeclineReferral, CompleteReferral, RequestReferral, WithdrawReferral and SetCapacity, as at every receiving agency. */
export const referralWorkflow = shared.referralHandlers({
  methods: ms.MigrationServicesServiceService,
  contracts: ms,
  message: async (trx, row) => toInboxReferral(row, await hasData(trx, row.referral_id)),
  capacity: { kind: common.CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, field: 'freeCounsellingSlots' },
  // A case whose consent was withdrawn is not referred on: no legal basis left.
  refuseReferOn: refuseWithdrawn,
});
