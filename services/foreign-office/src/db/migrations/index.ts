import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';

export const foreignOfficeMigrations: Migrations = {
  '0001-initial': initial,
};
