import { auditMigrations } from '@lotse/audit';
import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';
import * as erasure from './0002-erasure.js';

export const migrationServicesMigrations: Migrations = {
  '0001-initial': initial,
  '0002-erasure': erasure,
  ...auditMigrations,
};
