import { auditMigrations } from '@lotse/audit';
import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';
import * as referralWorkflow from './0002-referral-workflow.js';
import * as caseLookups from './0003-case-lookups.js';
import * as receivedReferral from './0004-received-referral.js';

export const jobCentreMigrations: Migrations = {
  '0001-initial': initial,
  '0002-referral-workflow': referralWorkflow,
  '0003-case-lookups': caseLookups,
  '0004-received-referral': receivedReferral,
  ...auditMigrations,
};
