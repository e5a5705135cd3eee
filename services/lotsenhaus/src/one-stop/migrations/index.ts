import type { Migrations } from '@lotse/db';
import * as oneStop from './0101-one-stop.js';
import * as oneStopConsentLookup from './0102-one-stop-consent-lookup.js';

/**
 * The one-stop desk's tables (prefix one_stop_), its own module's migrations in the deployment it
 * shares with the hub. The ids are the ones they always had (0101-…), so databases made when they
 * sat among the hub's migrations see them as applied.
 */
export const oneStopMigrations: Migrations = {
  '0101-one-stop': oneStop,
  '0102-one-stop-consent-lookup': oneStopConsentLookup,
};
