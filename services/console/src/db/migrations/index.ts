import type { Migrations } from '@lotse/db';
import * as initial from './0001-initial.js';
import * as operatorPerson from './0002-operator-person.js';

export const consoleMigrations: Migrations = {
  'console-0001-initial': initial,
  'console-0002-operator-person': operatorPerson,
};
