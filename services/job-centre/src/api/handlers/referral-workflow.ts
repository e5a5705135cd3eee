import { common, jobCentre as jc } from '@lotse/contracts';
import { intakeReferral, shared } from '../case-records.js';

/** AcceptReferral, DeclineReferral, CompleteReferral, RequestReferral, WithdrawReferral and SetCapacity, as at every receiving agency. */
export const referralWorkflow = shared.referralHandlers({
  methods: jc.JobCentreServiceService,
  contracts: jc,
  message: intakeReferral,
  capacity: { kind: common.CapacityKind.CAPACITY_KIND_LANGUAGE_COURSE_PLACES, field: 'freeLanguageCoursePlaces' },
  // A case referred on by a migration service names the configured owner, not the referrer.
  ownerOf: (source, rt) => source.owner_agency_id || (rt.peers.has(source.referrer_agency_id) ? source.referrer_agency_id : (rt.dataOwnerId ?? '')),
});
