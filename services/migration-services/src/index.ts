import type { RetentionJob } from '@lotse/audit';
import { events, migrationServices } from '@lotse/contracts';
import { subjectsAddressedTo } from '@lotse/messaging';
import { hubAgreements, referralEvents, type AgreementSource } from '@lotse/referrals';
import { hubReceiptFollowUp, on, startAgency, subscribe, type AgencyOverrides, type ReceiptFollowUp, type RunningAgency } from '@lotse/runtime';
import { migrationServicesApi } from './api/migration-services-api.js';
import type { MigrationServicesConfig } from './config.js';
import { providerDataProtection, startProviderRetention } from './data-protection/index.js';
import { migrationServicesMigrations } from './db/migrations/index.js';
import type { MigrationServicesDb } from './db/schema.js';
import { erasureRequests } from './events/erasure-requests.js';
import { providerInbox } from './events/referral-inbox.js';

export { toConfig, type MigrationServicesConfig } from './config.js';
export type { MigrationServicesDb } from './db/schema.js';

/** Composition root of one migration counselling provider (one deployment per PROVIDER_ID). */
export function create(config: MigrationServicesConfig, overrides: AgencyOverrides & { agreements?: AgreementSource } = {}) {
  let agreements: AgreementSource | undefined;
  let running: RunningAgency<MigrationServicesDb> | undefined;
  let receiptsFollowUp: ReceiptFollowUp | undefined;
  let retention: RetentionJob | undefined;
  return {
    async start() {
      running = await startAgency<MigrationServicesDb>(
        config,
        {
          migrations: migrationServicesMigrations,
          // Our events to the hub that it has not confirmed, for the operator's status and the console.
          awaiting: (ctx) => {
            receiptsFollowUp = hubReceiptFollowUp(ctx, { agencyId: config.hubAgencyId, address: config.hubAddress }, config.receiptFollowUp);
            return async () => (await receiptsFollowUp?.awaiting()) ?? [];
          },
          services: (ctx) => [
            {
              definition: migrationServices.MigrationServicesServiceService,
              protoFile: 'lotse/migration_services/v1/migration_services.proto',
              handlers: migrationServicesApi(ctx, {
                peers: config.peers,
                agreements: (agreements = overrides.agreements ?? hubAgreements({ hubAddress: config.hubAddress, hubAgencyId: config.hubAgencyId, identity: ctx.identity })),
              }),
            },
            ...providerDataProtection(ctx, config),
          ],
          subscriptions: (ctx) => [
            // Only what the hub addresses to this provider: lotse.<hub>.<event>.<provider-id>
            subscribe<MigrationServicesDb>(config.hubAgencyId, subjectsAddressedTo(config.hubAgencyId, config.agencyId), [
              ...referralEvents(ctx, providerInbox(ctx)),
              on(events.ErasureRequested, erasureRequests(ctx).ErasureRequested),
            ]),
          ],
        },
        overrides,
      );
      receiptsFollowUp?.start();
      retention = startProviderRetention(running.ctx, config);
      return running;
    },
    /** The reconciliation of our events with the hub's receipts (for operators and tests); undefined without HUB_ADDRESS. */
    get receiptFollowUp() {
      return receiptsFollowUp;
    },
    async stop() {
      await receiptsFollowUp?.stop();
      await retention?.stop();
      await running?.stop();
      agreements?.close?.();
    },
  };
}
