import type { RetentionJob } from '@lotse/audit';
import { events, lotsenhaus } from '@lotse/contracts';
import { agencySubjects } from '@lotse/messaging';
import { on, startAgency, subscribe, type AgencyOverrides, type RunningAgency } from '@lotse/runtime';
import { lotsenhausApi } from './api/lotsenhaus-api.js';
import type { LotsenhausConfig } from './config.js';
import { hubDataProtection, startHubRetention } from './data-protection/index.js';
import { hubMigrations } from './db/migrations/index.js';
import type { HubDb } from './db/schema.js';
import { loadDirectory } from './domain/directory.js';
import { caseFlow } from './events/case-flow.js';

export { defaultDirectoryFile, toConfig, type LotsenhausConfig } from './config.js';
export { loadDirectory, type Directory } from './domain/directory.js';
export type { HubDb } from './db/schema.js';

/** Composition root of the hub. It follows every referrer's and provider's stream in the directory. */
export function create(config: LotsenhausConfig, overrides: AgencyOverrides = {}) {
  const directory = loadDirectory(config.directoryFile);
  let running: RunningAgency<HubDb> | undefined;
  let retention: RetentionJob | undefined;
  return {
    directory,
    async start() {
      running = await startAgency<HubDb>(
        config,
        {
          migrations: hubMigrations,
          services: (ctx) => [{ definition: lotsenhaus.LotsenhausServiceService, protoFile: 'lotse/lotsenhaus/v1/lotsenhaus.proto', handlers: lotsenhausApi(ctx, directory) }, ...hubDataProtection(ctx, config)],
          subscriptions: (ctx) => {
            const flow = caseFlow(ctx, directory);
            return [
              ...directory.referrers.map((r) =>
                subscribe<HubDb>(r.agencyId, agencySubjects(r.agencyId), {
                  ReferralRequested: on(events.ReferralRequested, flow.ReferralRequested),
                  ConsentWithdrawn: on(events.ConsentWithdrawn, flow.ConsentWithdrawn),
                }),
              ),
              ...directory.providers.map((p) =>
                subscribe<HubDb>(p.providerId, agencySubjects(p.providerId), {
                  ReferralReceived: on(events.ReferralReceived, flow.ReferralReceived),
                  ReferralAccepted: on(events.ReferralAccepted, flow.ReferralAccepted),
                  ReferralDeclined: on(events.ReferralDeclined, flow.ReferralDeclined),
                  NewcomerDataReceived: on(events.NewcomerDataReceived, flow.NewcomerDataReceived),
                  FirstContactRecorded: on(events.FirstContactRecorded, flow.FirstContactRecorded),
                  ErasureConfirmed: on(events.ErasureConfirmed, flow.ErasureConfirmed),
                }),
              ),
            ];
          },
        },
        overrides,
      );
      retention = startHubRetention(running.ctx, config);
      return running;
    },
    async stop() {
      await retention?.stop();
      await running?.stop();
    },
  };
}
