import { auditMigrations } from '@lotse/audit';
import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';

export const jobCentreMigrations: Migrations = {
  '0001-initial': initial,
  ...auditMigrations,
};
