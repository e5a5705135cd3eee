// The shared referral workflow (@lotse/referrals) as a migration counselling provider serves it:
// refer on, withdraw, complete, decline, capacity — booted with create() on the real PostgreSQL
// and NATS JetStream, driven through its gRPC API.
import { common, migrationServices as ms } from '@lotse/contracts';
import { createClient } from '@lotse/grpc';
import { referralWorkflowSuite } from '@lotse/testing/referral-workflow';
import { create } from '../src/index.js';

const { InboxStatus: S } = ms;

referralWorkflowSuite('migration services', {
  agencyType: 'migration-services',
  // No data owner is reached in the workflow's calls.
  create: (config, overrides) => create({ ...config, peers: new Map() }, overrides),
  client: (address, identity) => createClient(ms.MigrationServicesServiceClient, address, identity),
  inboxTable: 'received_referral',
  statuses: { pending: S.INBOX_STATUS_PENDING, accepted: S.INBOX_STATUS_ACCEPTED, declined: S.INBOX_STATUS_DECLINED, withdrawn: S.INBOX_STATUS_WITHDRAWN, completed: S.INBOX_STATUS_COMPLETED },
  routedPurpose: common.Purpose.PURPOSE_MIGRATION_COUNSELLING,
  referOn: { recipientType: 'job-centre', purpose: common.Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION },
  unnamedOwner: 'referrer',
  capacity: { field: 'freeCounsellingSlots', kind: common.CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS },
});
