import { dataProtectionService, loadRetentionPolicy, retentionRule, startRetentionJob, type RetentionJob } from '@lotse/audit';
import type { AgencyContext, GrpcService } from '@lotse/runtime';
import type { LotsenhausConfig } from '../config.js';
import type { HubDb } from '../db/schema.js';
import { hubHoldings } from './holdings.js';
import { hubRetention } from './retention.js';

function routingFactsRule(config: LotsenhausConfig) {
  return retentionRule(loadRetentionPolicy(config.retention?.policyFile), config.agencyType, 'routing_facts');
}

/** The DataProtectionService every agency serves. */
export function hubDataProtection(ctx: AgencyContext<HubDb>, config: LotsenhausConfig): GrpcService<HubDb>[] {
  const rule = routingFactsRule(config);
  return [dataProtectionService({ agencyId: ctx.agencyId, agencyType: ctx.agencyType, db: ctx.db, now: ctx.now, ...hubHoldings(rule), runRetention: hubRetention(ctx, rule) })];
}

/** The scheduled retention job (RETENTION_INTERVAL_MS; 0 = only on RunRetention). */
export function startHubRetention(ctx: AgencyContext<HubDb>, config: LotsenhausConfig): RetentionJob {
  return startRetentionJob({ intervalMs: config.retention?.intervalMs ?? 3_600_000, logger: ctx.logger, run: hubRetention(ctx, routingFactsRule(config)) });
}
