import { auditMigrations } from '@lotse/audit';
import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';
import * as erasureTracking from './0002-erasure-tracking.js';

export const hubMigrations: Migrations = {
  '0001-initial': initial,
  '0002-erasure-tracking': erasureTracking,
  ...auditMigrations,
};
