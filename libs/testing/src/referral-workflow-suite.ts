// The referral workflow that every receiving agency serves (@lotse/referrals), tested through one
// agency's gRPC API against the real PostgreSQL and NATS JetStream. Each service's test file boots
// the service and runs this suite with what is its own (inbox table, statuses, capacity field).
import { describe } from 'vitest';
import { capacityAndAccessCases } from './referral-workflow-capacity-and-access.js';
import { decisionCases } from './referral-workflow-decisions.js';
import { referralWorkflowFixture } from './referral-workflow-fixture.js';
import { referringOnCases } from './referral-workflow-referring-on.js';
import type { ReferralWorkflowTarget } from './referral-workflow-target.js';

export type { ReferralWorkflowClient, ReferralWorkflowTarget, SuiteAgencyConfig, SuiteAgreements } from './referral-workflow-target.js';

export function referralWorkflowSuite(name: string, target: ReferralWorkflowTarget): void {
  const fixture = referralWorkflowFixture(target);
  // In this order: the cases share the service and its database.
  describe(`${name}: the shared referral workflow (real PostgreSQL and NATS JetStream)`, () => {
    decisionCases(fixture);
    referringOnCases(fixture);
    capacityAndAccessCases(fixture);
  });
}
