import { directory as dir } from '@lotse/contracts';
import { startPeriodic, type AgencyContext, type GrpcService, type PeriodicJob } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import { directoryApi } from './directory-api.js';
import { remindStaleEntries } from './reminders.js';
import { expireDirectoryContacts } from './retention.js';
import type { RetentionRule } from '@lotse/audit';
import { seedDirectory } from './seed.js';
import { startHsdsHttp, type HsdsHttpOptions, type HsdsHttpServer } from './hsds-http.js';
import type { HsdsContext } from './hsds.js';
import type { DirectoryDb } from './schema.js';
import type { Kysely } from 'kysely';

export { directoryApi, type DirectoryApiOptions } from './directory-api.js';
export { remindStaleEntries } from './reminders.js';
export { expireDirectoryContacts } from './retention.js';
export { defaultDirectorySeedFile, seedDirectory, seedId } from './seed.js';
export { readOrganizations } from './store.js';
export { fromHsds, hsdsTables, HSDS_VERSION, type HsdsContext } from './hsds.js';
export { hsdsResponse, type HsdsHttpServer } from './hsds-http.js';
export { importHsds, writeHsdsExport, type ImportResult } from './hsds-files.js';
export { renderFlyer, flyerLanguage, type FlyerInput } from './flyer.js';
export { flyerLanguages } from './flyer-strings.js';
export type { DirectoryDb, DirectoryTables } from './schema.js';

export interface PartnerDirectoryConfig {
  /** DIRECTORY_SEED_FILE: demo data for an empty directory; empty string: none. */
  seedFile: string;
  /** DIRECTORY_STALE_MONTHS: an entry not confirmed for this long is stale (default 12). */
  staleMonths: number;
  /** DIRECTORY_REMINDER_INTERVAL_MS: how often owners of stale entries are reminded (0: never). */
  reminderIntervalMs: number;
  /** HSDS_HTTP_PORT (and HSDS_HTTP_HOST, default 127.0.0.1): the read-only HSDS API; off when unset. */
  hsdsHttp?: HsdsHttpOptions;
}

export interface RunningPartnerDirectory {
  /** The HSDS API, when configured. */
  hsds?: HsdsHttpServer;
  stop(): Promise<void>;
}

export const defaultPartnerDirectoryConfig = { staleMonths: 12, reminderIntervalMs: 6 * 60 * 60 * 1000 };

/** lotse.lotsenhaus.v1.DirectoryService, beside the hub's own service. */
export function directoryService(ctx: AgencyContext<HubDb>, municipalities: readonly string[], config: PartnerDirectoryConfig): GrpcService<HubDb> {
  return { definition: dir.DirectoryServiceService, protoFile: 'lotse/lotsenhaus/v1/directory.proto', handlers: directoryApi(ctx, { municipalities, staleMonths: config.staleMonths }) };
}

/**
 * After start-up: the demo seed for an empty directory, the periodic job (reminders to owners of
 * stale entries, then the contacts' retention rule), the HSDS API.
 */
export async function startPartnerDirectory(ctx: AgencyContext<HubDb>, region: HsdsContext, config: PartnerDirectoryConfig, contactRetention: RetentionRule): Promise<RunningPartnerDirectory> {
  const municipalities = region.municipalities.map((m) => m.code);
  if (config.seedFile) {
    const seeded = await seedDirectory(ctx, municipalities, config.seedFile);
    if (seeded) ctx.logger.info({ organizations: seeded }, 'partner directory seeded with demo data');
  }
  const reminders: PeriodicJob = startPeriodic('reminding owners of stale directory entries', config.reminderIntervalMs, ctx.logger, async () => {
    const sent = await remindStaleEntries(ctx, config.staleMonths);
    if (sent) ctx.logger.info({ reminders: sent }, 'owners of stale directory entries reminded');
    const deleted = await expireDirectoryContacts(ctx, contactRetention);
    if (deleted) ctx.logger.info({ deleted, rule: contactRetention.id }, 'unconfirmed directory contacts deleted');
  });
  const hsds = config.hsdsHttp ? await startHsdsHttp(ctx.db as unknown as Kysely<DirectoryDb>, region, config.hsdsHttp, ctx.logger) : undefined;
  return {
    hsds,
    async stop() {
      await hsds?.stop();
      await reminders.stop();
    },
  };
}
