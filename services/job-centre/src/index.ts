import { jobCentre } from '@lotse/contracts';
import { subjectsAddressedTo } from '@lotse/messaging';
import { hubAgreements, referralEvents, type AgreementSource } from '@lotse/referrals';
import { hubReceiptFollowUp, startAgency, subscribe, type AgencyOverrides, type ReceiptFollowUp, type RunningAgency } from '@lotse/runtime';
import { jobCentreApi } from './api/job-centre-api.js';
import type { JobCentreConfig } from './config.js';
import { jobCentreDataProtection } from './data-protection/index.js';
import { jobCentreMigrations } from './db/migrations/index.js';
import type { JobCentreDb } from './db/schema.js';
import { referralIntake } from './events/referral-intake.js';

export { toConfig, type JobCentreConfig } from './config.js';
export type { JobCentreDb } from './db/schema.js';

/** Composition root of one job centre (one deployment per JOB_CENTRE_ID). */
export function create(config: JobCentreConfig, overrides: AgencyOverrides & { agreements?: AgreementSource } = {}) {
  let agreements: AgreementSource | undefined;
  let running: RunningAgency<JobCentreDb> | undefined;
  let receiptsFollowUp: ReceiptFollowUp | undefined;
  return {
    async start() {
      running = await startAgency<JobCentreDb>(
        config,
        {
          migrations: jobCentreMigrations,
          // Our events to the hub that it has not confirmed, for the operator's status and the console.
          awaiting: (ctx) => {
            receiptsFollowUp = hubReceiptFollowUp(ctx, { agencyId: config.hubAgencyId, address: config.hubAddress }, config.receiptFollowUp);
            return async () => (await receiptsFollowUp?.awaiting()) ?? [];
          },
          services: (ctx) => [
            {
              definition: jobCentre.JobCentreServiceService,
              protoFile: 'lotse/job_centre/v1/job_centre.proto',
              handlers: jobCentreApi(ctx, {
                peers: config.peers,
                dataOwnerId: config.dataOwnerId,
                agreements: (agreements = overrides.agreements ?? hubAgreements({ hubAddress: config.hubAddress, hubAgencyId: config.hubAgencyId, identity: ctx.identity })),
              }),
            },
            ...jobCentreDataProtection(ctx),
          ],
          subscriptions: (ctx) => [
            // Only what the hub addresses to this job centre: lotse.<hub>.<event>.<job-centre-id>
            subscribe<JobCentreDb>(config.hubAgencyId, subjectsAddressedTo(config.hubAgencyId, config.agencyId), referralEvents(ctx, referralIntake(ctx))),
          ],
        },
        overrides,
      );
      receiptsFollowUp?.start();
      return running;
    },
    /** The reconciliation of our events with the hub's receipts (for operators and tests); undefined without HUB_ADDRESS. */
    get receiptFollowUp() {
      return receiptsFollowUp;
    },
    async stop() {
      await receiptsFollowUp?.stop();
      await running?.stop();
      agreements?.close?.();
    },
  };
}
