import { loadRetentionPolicy, retentionRule, type RetentionJob } from '@lotse/audit';
import { lotsenhaus } from '@lotse/contracts';
import { startAgency, type AgencyOverrides, type RunningAgency } from '@lotse/runtime';
import { lotsenhausApi } from './api/lotsenhaus-api.js';
import { TimelineFeed } from './api/timeline-feed.js';
import type { LotsenhausConfig } from './config.js';
import { hubDataProtection, startHubRetention } from './data-protection/index.js';
import { hubMigrations } from './db/migrations/index.js';
import type { HubDb } from './db/schema.js';
import { agencyNames, loadDirectory } from './domain/directory.js';
import { caseFlow } from './events/case-flow.js';
import { hubSubscriptions } from './events/subscriptions.js';
import { defaultRoutingFollowUp, routingFollowUp } from './events/routing-follow-up.js';
import { addWorkingDays } from './domain/working-days.js';
import { oneStopService, oneStopSubscription } from './one-stop/index.js';
import { defaultMinCount, statisticsService } from './statistics/index.js';
import { defaultPartnerDirectoryConfig, directoryService, startPartnerDirectory, type RunningPartnerDirectory } from './directory/index.js';

/** When an unanswered referral escalates: REFERRAL_EXPIRY_MS if set, else REFERRAL_EXPIRY working days. */
function expiryOf(config: LotsenhausConfig): (routedAt: Date) => Date {
  const expiry = config.referralExpiry ?? { workingDays: 5, checkIntervalMs: 60_000 };
  if (expiry.overrideMs) return (at) => new Date(at.getTime() + expiry.overrideMs!);
  return (at) => addWorkingDays(at, expiry.workingDays);
}

export { defaultDirectoryFile, toConfig, type LotsenhausConfig } from './config.js';
export { loadDirectory, type Directory } from './domain/directory.js';
export type { HubDb } from './db/schema.js';
export * as partnerDirectory from './directory/index.js';

/** Composition root of the hub. It follows every referrer's and provider's stream in the directory. */
export function create(config: LotsenhausConfig, overrides: AgencyOverrides = {}) {
  const directory = loadDirectory(config.directoryFile);
  let running: RunningAgency<HubDb> | undefined;
  let retention: RetentionJob | undefined;
  let flow: ReturnType<typeof caseFlow> | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  let expiryRunning = false;
  let followUp: ReturnType<typeof routingFollowUp> | undefined;
  let partnerDirectoryRun: RunningPartnerDirectory | undefined;
  // Without the setting (a hand-made config in tests): no demo seed, default periods.
  const partnerDirectory = config.partnerDirectory ?? { seedFile: '', ...defaultPartnerDirectoryConfig };
  const municipalityCodes = directory.municipalities.map((m) => m.code);
  // Read once at start-up: a policy without the directory's rule stops the hub, as for the routing facts.
  const contactRetention = retentionRule(loadRetentionPolicy(config.retention?.policyFile), config.agencyType, 'directory_contacts');
  return {
    directory,
    async start() {
      running = await startAgency<HubDb>(
        config,
        {
          migrations: hubMigrations,
          // Routings no recipient confirmed, per recipient, for the operator's status and the console.
          awaiting: (ctx) => {
            followUp = routingFollowUp(ctx, config.routingFollowUp ?? defaultRoutingFollowUp);
            return () => followUp!.awaiting();
          },
          services: (ctx) => [{ definition: lotsenhaus.LotsenhausServiceService, protoFile: 'lotse/lotsenhaus/v1/lotsenhaus.proto', handlers: lotsenhausApi(ctx, directory, new TimelineFeed(ctx.db, ctx.logger, undefined, agencyNames(directory))) }, oneStopService(ctx), directoryService(ctx, municipalityCodes, partnerDirectory), statisticsService(ctx, directory, config.statisticsMinCount ?? defaultMinCount), ...hubDataProtection(ctx, config)],
          subscriptions: (ctx) => {
            flow = caseFlow(ctx, directory, { expiresAt: expiryOf(config) });
            return hubSubscriptions(ctx, directory, flow, () => oneStopSubscription(ctx));
          },
        },
        overrides,
      );
      retention = startHubRetention(running.ctx, config);
      partnerDirectoryRun = await startPartnerDirectory(running.ctx, directory, partnerDirectory, contactRetention);
      followUp!.start();
      const interval = config.referralExpiry?.checkIntervalMs ?? 60_000;
      const ctx = running.ctx;
      expiryTimer = setInterval(() => {
        if (expiryRunning || !flow) return;
        expiryRunning = true;
        ctx
          .transact((trx) => flow!.escalateExpired(trx))
          .then((n) => n && ctx.logger.info({ escalated: n }, 'unanswered referrals escalated'))
          .catch((error) => ctx.logger.error({ err: error }, 'escalating expired referrals failed'))
          .finally(() => (expiryRunning = false));
      }, interval);
      expiryTimer.unref();
      return running;
    },
    /** The partner directory's HSDS API, when HSDS_HTTP_PORT is set. */
    get hsdsHttp() {
      return partnerDirectoryRun?.hsds;
    },
    /** The reconciliation of routings with the recipients' receipts (for operators and tests). */
    get routingFollowUp() {
      return followUp;
    },
    async stop() {
      if (expiryTimer) clearInterval(expiryTimer);
      await followUp?.stop();
      await partnerDirectoryRun?.stop();
      await retention?.stop();
      await running?.stop();
    },
  };
}
