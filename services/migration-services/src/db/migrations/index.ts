import { auditMigrations } from '@lotse/audit';
import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';
import * as erasure from './0002-erasure.js';
import * as referralWorkflow from './0003-referral-workflow.js';
import * as receivedReferral from './0004-received-referral.js';

export const migrationServicesMigrations: Migrations = {
  '0001-initial': initial,
  '0002-erasure': erasure,
  '0003-referral-workflow': referralWorkflow,
  '0004-received-referral': receivedReferral,
  ...auditMigrations,
};
