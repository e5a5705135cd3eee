import { auditMigrations } from '@lotse/audit';
import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';
import * as consentWithdrawal from './0002-consent-withdrawal.js';
import * as referralRecipients from './0003-referral-recipients.js';
import * as referralFollowUp from './0004-referral-follow-up.js';

export const foreignOfficeMigrations: Migrations = {
  '0001-initial': initial,
  '0002-consent-withdrawal': consentWithdrawal,
  '0003-referral-recipients': referralRecipients,
  '0004-referral-follow-up': referralFollowUp,
  ...auditMigrations,
};
