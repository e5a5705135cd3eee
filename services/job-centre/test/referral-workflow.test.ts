// The shared referral workflow (@lotse/referrals) as a job centre serves it: refer on, withdraw,
// complete, decline, capacity — booted with create() on the real PostgreSQL and NATS JetStream,
// driven through its gRPC API.
import { common, jobCentre as jc } from '@lotse/contracts';
import { createClient } from '@lotse/grpc';
import { referralWorkflowSuite } from '@lotse/testing/referral-workflow';
import { create } from '../src/index.js';

const { IntakeStatus: S } = jc;

referralWorkflowSuite('job centre', {
  agencyType: 'job-centre',
  // The owner of the newcomers' data is configured: a migration service that refers on holds none.
  create: (config, overrides) => create({ ...config, peers: new Map([[config.dataOwnerId, '127.0.0.1:1']]) }, overrides),
  client: (address, identity) => createClient(jc.JobCentreServiceClient, address, identity),
  inboxTable: 'received_referral',
  statuses: { pending: S.INTAKE_STATUS_PENDING, accepted: S.INTAKE_STATUS_ACCEPTED, declined: S.INTAKE_STATUS_DECLINED, withdrawn: S.INTAKE_STATUS_WITHDRAWN, completed: S.INTAKE_STATUS_COMPLETED },
  routedPurpose: common.Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
  referOn: { recipientType: 'lotsenhaus', purpose: common.Purpose.PURPOSE_JOB_PLACEMENT },
  unnamedOwner: 'configured',
  capacity: { field: 'freeLanguageCoursePlaces', kind: common.CapacityKind.CAPACITY_KIND_LANGUAGE_COURSE_PLACES },
});
