import type { RetentionJob } from '@lotse/audit';
import { events, eventTypeOf, foreignOffice } from '@lotse/contracts';
import { on, startAgency, subjectOf, subscribe, type AgencyOverrides, type RunningAgency } from '@lotse/runtime';
import { foreignOfficeApi } from './api/foreign-office-api.js';
import type { ForeignOfficeConfig } from './config.js';
import { foreignOfficeDataProtection, startForeignOfficeRetention } from './data-protection/index.js';
import { foreignOfficeMigrations } from './db/migrations/index.js';
import type { ForeignOfficeDb } from './db/schema.js';
import { defaultFollowUp, referralFollowUp } from './events/referral-follow-up.js';
import { applyStatusChange } from './events/status-updates.js';

export { toConfig, type ForeignOfficeConfig } from './config.js';
export type { ForeignOfficeDb } from './db/schema.js';

/** Composition root of the foreign office. */
export function create(config: ForeignOfficeConfig, overrides: AgencyOverrides = {}) {
  let running: RunningAgency<ForeignOfficeDb> | undefined;
  let retention: RetentionJob | undefined;
  let followUp: ReturnType<typeof referralFollowUp> | undefined;
  return {
    async start() {
      running = await startAgency<ForeignOfficeDb>(
        config,
        {
          migrations: foreignOfficeMigrations,
          services: (ctx) => [{ definition: foreignOffice.ForeignOfficeServiceService, protoFile: 'lotse/foreign_office/v1/foreign_office.proto', handlers: foreignOfficeApi(ctx) }, ...foreignOfficeDataProtection(ctx, config)],
          // Referral requests the hub has not answered, for the operator's status and the console.
          awaiting: (ctx) => {
            followUp = referralFollowUp(ctx, config.hubAgencyId, config.referralFollowUp ?? defaultFollowUp);
            return async () => {
              const s = await followUp!.status();
              return [{ eventType: eventTypeOf(events.ReferralRequested), waitsOn: config.hubAgencyId, waiting: s.waiting, stuck: s.stuck, oldestAt: s.oldestRequestedAt }];
            };
          },
          subscriptions: () => [
            subscribe<ForeignOfficeDb>(config.hubAgencyId, subjectOf(config.hubAgencyId, events.ReferralStatusChanged, config.agencyId), [
              on(events.ReferralStatusChanged, (trx, msg) => applyStatusChange(trx, msg)),
            ]),
          ],
        },
        overrides,
      );
      retention = startForeignOfficeRetention(running.ctx, config);
      followUp!.start();
      return running;
    },
    /** The reconciliation of referral requests with the hub's answers (for operators and tests). */
    get referralFollowUp() {
      return followUp;
    },
    async stop() {
      await followUp?.stop();
      await retention?.stop();
      await running?.stop();
    },
  };
}
