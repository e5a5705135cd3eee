import { auditMigrations } from '@lotse/audit';
import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';
import * as consentWithdrawal from './0002-consent-withdrawal.js';

export const foreignOfficeMigrations: Migrations = {
  '0001-initial': initial,
  '0002-consent-withdrawal': consentWithdrawal,
  ...auditMigrations,
};
