import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';

export const consoleMigrations: Migrations = {
  'console-0001-initial': initial,
};
