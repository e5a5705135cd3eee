import { dataProtectionService, loadRetentionPolicy, retentionRule, startRetentionJob, type RetentionJob } from '@lotse/audit';
import type { AgencyContext, GrpcService } from '@lotse/runtime';
import type { MigrationServicesConfig } from '../config.js';
import type { MigrationServicesDb } from '../db/schema.js';
import { providerHoldings } from './holdings.js';
import { providerRetention } from './retention.js';

function receivedDataRule(config: MigrationServicesConfig) {
  return retentionRule(loadRetentionPolicy(config.retention?.policyFile), config.agencyType, 'received_data');
}

/** The DataProtectionService every agency serves. */
export function providerDataProtection(ctx: AgencyContext<MigrationServicesDb>, config: MigrationServicesConfig): GrpcService<MigrationServicesDb>[] {
  const rule = receivedDataRule(config);
  return [
    dataProtectionService({
      agencyId: ctx.agencyId,
      agencyType: ctx.agencyType,
      db: ctx.db,
      now: ctx.now,
      ...providerHoldings(rule),
      runRetention: providerRetention(ctx, rule),
    }),
  ];
}

/** The scheduled retention job (RETENTION_INTERVAL_MS; 0 = only on RunRetention). */
export function startProviderRetention(ctx: AgencyContext<MigrationServicesDb>, config: MigrationServicesConfig): RetentionJob {
  return startRetentionJob({ intervalMs: config.retention?.intervalMs ?? 3_600_000, logger: ctx.logger, run: providerRetention(ctx, receivedDataRule(config)) });
}
