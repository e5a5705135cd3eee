import { auditMigrations } from '@lotse/audit';
import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';
import * as erasureTracking from './0002-erasure-tracking.js';
import * as referralWorkflow from './0003-referral-workflow.js';
import * as referralLanguages from './0004-referral-languages.js';
import * as caseLookups from './0005-case-lookups.js';
import * as timelineCommitOrder from './0006-timeline-commit-order.js';
import * as routingFollowUp from './0007-routing-follow-up.js';
import * as timelineFacts from './0008-timeline-facts.js';
import { oneStopMigrations } from '../../one-stop/migrations/index.js';
import * as directory from '../../directory/migrations/0201-directory.js';

export const hubMigrations: Migrations = {
  '0001-initial': initial,
  '0002-erasure-tracking': erasureTracking,
  '0003-referral-workflow': referralWorkflow,
  '0004-referral-languages': referralLanguages,
  '0005-case-lookups': caseLookups,
  '0006-timeline-commit-order': timelineCommitOrder,
  '0007-routing-follow-up': routingFollowUp,
  '0008-timeline-facts': timelineFacts,
  ...oneStopMigrations,
  '0201-directory': directory,
  ...auditMigrations,
};
